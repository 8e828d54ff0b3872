"""Optional answer generation through an OpenAI-compatible chat-completions API, streamed.

Enabled by QA_LLM_BASE_URL and QA_LLM_MODEL (QA_LLM_API_KEY if the server wants one), which
`Settings.load` reads into `settings.llm`, an `LLMConfig`. The model sees numbered sources and must
cite them as [n] (answer.py checks the markers). Any failure raises LLMError, and the caller falls
back to the extractive answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from qa.config import LLMConfig
from qa.errors import QAError
from qa.ingest.chunking import Chunk

SYSTEM_PROMPT = (
    "你是新闻问答助手。只根据下面编号的资料回答问题，用简洁的中文（不超过三句话）。"
    "每句话末尾用方括号注明依据的资料编号，例如[1]或[2]。资料中没有答案时，回答“资料中没有找到相关内容。”"
)


class LLMError(QAError):
    """The LLM endpoint failed, timed out or answered something unusable."""


def build_messages(question: str, sources: list[Chunk]) -> list[dict]:
    """The chat messages: instructions, then the numbered sources and the question."""
    numbered = "\n\n".join(f"[{n}] 《{c.title}》（{c.source or '来源不详'} {c.date}）\n{c.text}"
                           for n, c in enumerate(sources, start=1))
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"资料：\n{numbered}\n\n问题：{question}"}]


def stream_chat(config: LLMConfig, messages: list[dict]) -> Iterator[str]:
    """Yield the answer's text pieces as the server streams them (server-sent events)."""
    import httpx

    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    body = {"model": config.model, "messages": messages, "stream": True, "temperature": 0}
    try:
        with httpx.stream("POST", f"{config.base_url}/chat/completions", json=body, headers=headers,
                          timeout=config.timeout) as response:
            if response.status_code != 200:
                raise LLMError(f"the LLM server answered HTTP {response.status_code}")
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                choices = json.loads(data).get("choices") or [{}]
                piece = (choices[0].get("delta") or {}).get("content")
                if piece:
                    yield piece
    except (httpx.HTTPError, ValueError, KeyError) as error:
        raise LLMError(f"the LLM request failed: {type(error).__name__}: {error}") from error
