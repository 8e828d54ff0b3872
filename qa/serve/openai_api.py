"""An OpenAI-compatible API (`GET /v1/models`, `POST /v1/chat/completions`) over the live engine.

Existing chat front-ends and the `openai` client talk to the bot as to a model named
`xinwen-qa`. (FastAPI reads the endpoints' annotations, so its names are imported at the top;
only the server imports this module.) The answer text carries `[n]` markers; the citations travel as structured data in
a `citations` field beside `choices` (in the last chunk when streaming). The earlier user turns
of `messages` are the conversation the follow-up logic reads; an optional `as_of` (YYYY-MM-DD)
says when the question is asked (today by default), for "去年", "上周", "最新". With an API key set, every
request needs `Authorization: Bearer <key>`.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from qa.answer.compose import Answer
from qa.errors import QAError, QuestionError
from qa.search.question_time import parse_as_of
from qa.serve.live import LiveCollections
from qa.serve.page import one_line

log = logging.getLogger(__name__)
MODEL_ID = "xinwen-qa"
OWNER = "xinwen-qa"


def _error(status: int, message: str, kind: str = "invalid_request_error", code: str | None = None):
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status)


def _text(content) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text")
    return ""


def question_and_history(messages) -> tuple[str, list[str]]:
    """The last user message and the user messages before it (oldest first)."""
    if not isinstance(messages, list) or not messages:
        raise QuestionError("`messages` must be a non-empty list of {role, content} objects")
    users = [_text(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise QuestionError("`messages` has no user message: put the question in a {\"role\": \"user\"} message")
    return users[-1], [u for u in users[:-1] if u.strip()]


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _extras(answer: Answer) -> dict:
    data = answer.to_json()
    return {"citations": data["citations"], "abstained": data["abstained"],
            **({"notice": data["notice"]} if "notice" in data else {})}


def completion(answer: Answer, created: int) -> dict:
    """A `chat.completion` object for a finished answer."""
    return {"id": _completion_id(), "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, **_extras(answer)}


def completion_chunks(pieces: Iterator[tuple[str, Answer | None]], created: int) -> Iterator[str]:
    """Server-sent events of `chat.completion.chunk` objects: the text as it grows, then the
    citations with the finish reason, then `[DONE]`."""
    ident = _completion_id()

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    sent = ""
    try:
        for text, final in pieces:
            # Text that does not extend what was sent is the extractive answer replacing a failed LLM
            # stream: a client cannot unsay, so it follows on a new paragraph.
            piece = text[len(sent):] if text.startswith(sent) else "\n\n" + text
            if piece:
                yield event({"content": piece})
            sent = text
            if final is not None:
                yield event({}, "stop", **_extras(final))
    except QAError as error:
        log.info("request refused: %s", one_line(error))
        yield f"data: {json.dumps({'error': {'message': str(error), 'type': 'invalid_request_error'}}, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def openai_router(collections: LiveCollections, api_key: str | None = None):
    """The FastAPI router serving the OpenAI-compatible endpoints."""
    router = APIRouter(prefix="/v1")

    def refused(request: Request):
        if not api_key:
            return None
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode()):
            return None
        return _error(401, "invalid or missing API key: send `Authorization: Bearer <key>` (the server's "
                      "--api-key / QA_API_KEY)", "invalid_request_error", "invalid_api_key")

    @router.get("/models")
    def models(request: Request):
        if (denied := refused(request)) is not None:
            return denied
        reader = collections.first.current().reader
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": OWNER,
                                            "reader": reader.status if reader else "off"}]}

    @router.post("/chat/completions")
    def chat_completions(request: Request, body: dict):
        # A plain `def`: FastAPI runs it in its thread pool, so a slow answer never blocks the server.
        if (denied := refused(request)) is not None:
            return denied
        try:
            question, history = question_and_history(body.get("messages"))
            as_of = parse_as_of(body.get("as_of"))
            engine = collections.get(body.get("collection")).current()
            created = int(time.time())
            if body.get("stream"):
                pieces = engine.stream(question, history, as_of=as_of)
                first = next(pieces)  # errors in the question surface here, as a 400, before streaming
                return StreamingResponse(completion_chunks(_prepend(first, pieces), created),
                                         media_type="text/event-stream")
            return completion(engine.ask(question, history, as_of=as_of), created)
        except QAError as error:  # the client's mistake: one log line, no traceback
            log.info("request refused: %s", one_line(error))
            return _error(400, str(error))

    return router


def _prepend(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest
