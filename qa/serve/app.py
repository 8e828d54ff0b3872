"""The web chat (Gradio): a conversation with streamed, cited answers and a sources panel, the
资料库 tab, and the OpenAI-compatible API, served together by one uvicorn server.

Everything from articles and questions is HTML-escaped before it reaches the page, so an
article containing <script> or <img onerror=…> is shown as text and never runs.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from qa.answer.compose import MARKER, Answer
from qa.answer.engine import Engine
from qa.ingest.dates import shown_date
from qa.search.question_time import parse_as_of
from qa.serve.knowledge_base import KnowledgeBase
from qa.serve.library_view import library_view
from qa.serve.live import LiveCollections, LiveEngine
from qa.serve.openai_api import openai_router
from qa.serve.page import as_text, page_message, readable_error
from qa.serve.web_view import web_view

if TYPE_CHECKING:  # gradio is imported only when the page is built
    import gradio as gr

TITLE = "新闻问答"
SUBTITLE = "基于新闻资料回答问题，每句话都注明出处。"
CSS = """
.sources { display: flex; flex-direction: column; gap: 10px; }
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; }
.source-head { font-weight: 600; }
.source-n { color: var(--color-accent); margin-right: 4px; }
.source-meta { color: var(--body-text-color-subdued); font-size: 0.9em; margin: 2px 0 6px; }
.source-passage { line-height: 1.7; white-space: pre-wrap; }
.source-passage mark { background: #fde68a; color: inherit; padding: 0 1px; }
.empty-sources, .notice { color: var(--body-text-color-subdued); }
"""


def answer_markdown(text: str) -> str:
    """The answer for the chat bubble: escaped text with `[n]` markers shown as references."""
    return MARKER.sub(r"<sup>[\1]</sup>", as_text(text))


def as_of_note(day: date) -> str:
    """The line under an answer that says the question's time was read as of another day than today."""
    return "" if day == date.today() else f"\n\n*（“今年”“上周”“最新”等按 {day.isoformat()} 理解）*"


def shortened(question: str, limit: int = 80) -> str:
    """The question as the conversation shows it: an over-long one cut, with its length."""
    question = question.strip()
    return question if len(question) <= limit else f"{question[:limit]}…（共 {len(question)} 字）"


def asked_in(history: list[dict]) -> bool:
    """True when the conversation shown holds a question (a cleared one has none to follow up)."""
    return any(message.get("role") == "user" for message in history)


# How a quote's text was got, when not from the article file's own text: said beside the source.
ORIGIN_NOTES = {"ocr": "文字由图片识别（OCR），引文可能有误", "summary": "仅有订阅源摘要，原文未能获取"}


def linked_title(title: str, url: str) -> str:
    """The title, linked to the article's original page when it came from the web."""
    if not url.lower().startswith(("http://", "https://")):
        return html.escape(title)
    return (f'<a class="source-link" href="{html.escape(url, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer nofollow">{html.escape(title)}</a>')


def sources_html(answer: Answer | None, engine: Engine) -> str:
    """The sources panel: number, title, outlet, reporters and date, and the passage with the quote highlighted."""
    if answer is None:
        return '<div class="empty-sources">提问后，这里会显示答案引用的原文。</div>'
    if answer.abstained:
        if not answer.nearest:
            return f'<div class="empty-sources">{html.escape(answer.text)}</div>'
        rows = "".join(f"<li>{html.escape(n['title'])} · {html.escape(n['source'] or '来源不详')} · "
                       f"{html.escape(shown_date(n['date']))}</li>" for n in answer.nearest)
        return f'<div class="empty-sources">资料中没有找到答案。最接近的资料：<ul>{rows}</ul></div>'
    cards = []
    for c in answer.citations:
        passage = engine.store.passage_containing(c.article_id, c.start, c.end)
        if passage is None:
            body = f"<mark>{html.escape(c.quote)}</mark>"
        else:
            before = passage.text[: c.start - passage.start]
            after = passage.text[c.end - passage.start:]
            body = f"{html.escape(before)}<mark>{html.escape(c.quote)}</mark>{html.escape(after)}"
        reporters = f"记者 {'、'.join(c.reporters)}" if c.reporters else ""
        meta = " · ".join(html.escape(x) for x in (c.source or "来源不详", reporters, shown_date(c.date)) if x)
        if c.also:
            meta += f" · 另见：{html.escape('、'.join(c.also))}"
        origin = ORIGIN_NOTES.get(c.origin, "")
        if origin:
            meta += f' · <span class="source-origin">{origin}</span>'
        cards.append(
            f'<div class="source" id="source-{c.n}"><div class="source-head"><span class="source-n">[{c.n}]</span>'
            f'{linked_title(c.title, c.url)}</div><div class="source-meta">{meta}</div>'
            f'<div class="source-passage">{body}</div></div>')
    notice = f'<div class="notice">{html.escape(answer.notice)}</div>' if answer.notice else ""
    return f'<div class="sources">{notice}{"".join(cards)}</div>'


def example_questions(engine: Engine, limit: int = 4) -> list[str]:
    """Questions drawn from the corpus: one about each of the first articles, by title."""
    titles = list(dict.fromkeys(a.title for a in engine.store.articles(limit=limit * 4)))[:limit]
    return [f"{title.rstrip('。！？!?')}的主要内容是什么？" for title in titles]


class ChatHandlers:
    """What the chat's events and the /ask API do, over the collections' live engines."""

    def __init__(self, collections: LiveCollections):
        self.collections = collections

    def respond(self, message: str, history: list[dict], questions: list[str], mode: str, k: int, collection: str,
                as_of: str):
        """Stream the answer into the chat; the sources panel follows when it is complete. Bad input is
        a message in the conversation, and the question stays in the box to be corrected."""
        import gradio as gr

        earlier = questions if asked_in(history) else []  # the conversation was cleared: nothing to follow
        asked = history + [{"role": "user", "content": as_text(message or "")}]
        try:
            day = parse_as_of(as_of)
            engine = self.collections.get(collection).current()  # the question finishes on this index
            for text, final in engine.stream(message, earlier, mode, int(k), day):
                shown = asked + [{"role": "assistant", "content": answer_markdown(text) + as_of_note(day)}]
                if final is None:
                    yield shown, gr.skip(), gr.skip(), earlier
                else:
                    yield shown, sources_html(final, engine), gr.skip(), earlier + [message.strip()]
        except Exception as error:  # said in the conversation, under the question; the server keeps serving
            said = {"role": "assistant", "content": "⚠️ " + as_text(page_message(error, "question"))}
            shown = [{"role": "user", "content": as_text(shortened(message))}] if (message or "").strip() else []
            yield history + shown + [said], gr.skip(), message or gr.skip(), earlier  # back in the box

    @staticmethod
    def take(message: str) -> tuple[str, str]:
        """The question sent, out of the box at once: the next one may be typed while this one is answered."""
        return "", message

    def forget(self) -> list[str]:
        """A new conversation: no earlier question for a follow-up to lean on."""
        return []

    def listed(self):
        """The choice of knowledge base, offering the collections there are now (shown when more than one)."""
        import gradio as gr

        names = self.collections.names()
        return gr.update(choices=names, visible=len(names) > 1)

    def ask(self, question: str, history: list[str] | None = None, as_of: str | None = None,
            collection: str | None = None) -> dict:
        """Answer a question (a follow-up of the earlier questions in `history`, oldest first; time
        in it read as of `as_of`, YYYY-MM-DD, today by default; from the named collection, the
        server's own by default); the same JSON object as `qa ask --json`."""
        try:
            engine = self.collections.get(collection).current()
            return engine.ask(question, list(history or []), as_of=parse_as_of(as_of)).to_json()
        except Exception as error:
            raise readable_error(error) from error


@dataclass(frozen=True)
class ChatPanel:
    """The chat tab's components that its events read or write."""

    collection: gr.Dropdown
    chatbot: gr.Chatbot
    box: gr.Textbox
    send: gr.Button
    clear: gr.Button
    mode: gr.Radio
    k: gr.Slider
    as_of: gr.Textbox
    sources: gr.HTML


def lay_out_chat(engine: Engine, names: list[str]) -> ChatPanel:
    """The chat tab's components: the choice of knowledge base among `names`, the conversation, the
    question box, the search settings (the engine's by default) and the sources panel."""
    import gradio as gr

    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            collection = gr.Dropdown(names, value=names[0], label="知识库", elem_id="collection",
                                     visible=len(names) > 1, interactive=True)
            chatbot = gr.Chatbot(label="对话", height=520, elem_id="chat", sanitize_html=True,
                                 buttons=["copy"], feedback_options=None, placeholder="请输入关于新闻资料的问题")
            with gr.Row():
                box = gr.Textbox(placeholder="例如：中欧班列这次装载的货物要运往哪个国家？", show_label=False,
                                 scale=5, elem_id="question", autofocus=True, max_lines=4)
                send = gr.Button("提问", variant="primary", scale=1, elem_id="send")
            with gr.Row():
                clear = gr.Button("清空对话", elem_id="clear", size="sm")
            gr.Examples(example_questions(engine), inputs=box, label="示例问题")
            with gr.Accordion("检索设置", open=False):
                mode = gr.Radio([("混合（关键词＋语义）", "hybrid"), ("关键词（BM25）", "bm25"),
                                 ("语义向量", "dense")], value=engine.settings.mode, label="检索方式")
                k = gr.Slider(1, 10, value=engine.settings.top_k, step=1, label="检索段落数")
                as_of = gr.Textbox(value=lambda: date.today().isoformat(), max_lines=1, elem_id="as-of",
                                   label="阅读日期：问题中的“今年”“上周”“最新”按这一天理解（YYYY-MM-DD，默认今天）")
        with gr.Column(scale=2):
            gr.Markdown("### 来源")
            sources = gr.HTML(sources_html(None, engine), elem_id="sources")
    return ChatPanel(collection, chatbot, box, send, clear, mode, k, as_of, sources)


def wire_chat(app, chat: ChatPanel, handlers: ChatHandlers, no_sources_html: str) -> None:
    """Connect the chat's events to their handlers (asking, clearing, choosing a knowledge base) and
    offer the /ask API; `no_sources_html` is the sources panel before a question."""
    import gradio as gr

    questions = gr.State([])  # the user's earlier questions, unescaped, for follow-ups
    sent = gr.State("")  # the question being answered, taken out of the box when it is sent
    respond = handlers.respond  # one function for both triggers: Gradio queues them as one group
    # A question sent while an answer is still coming is answered after it ("always_last"; Gradio's
    # default, "once", would drop it without a word).
    answering = [trigger(handlers.take, [chat.box], [chat.box, sent], queue=False, api_visibility="private")
                 .then(respond, [sent, chat.chatbot, questions, chat.mode, chat.k, chat.collection, chat.as_of],
                       [chat.chatbot, chat.sources, chat.box, questions], api_visibility="private",
                       trigger_mode="always_last")
                 for trigger in (chat.box.submit, chat.send.click)]
    # Another knowledge base, chosen by the user: a new conversation (follow-ups do not cross
    # collections), cleared in the browser at once so that no reply can race a question sent
    # right after. `input`, not `change`: refreshing the list on load resets nothing, and the
    # question being typed is kept.
    no_sources = json.dumps(no_sources_html, ensure_ascii=False)
    chat.collection.input(None, None, [chat.chatbot, chat.sources], js=f"() => [[], {no_sources}]")
    app.load(handlers.listed, None, chat.collection, api_visibility="private")
    # Cleared in the browser at once, like a change of knowledge base: a question typed right
    # after the click is not erased by a reply from the server. The earlier questions live on the
    # server (a gr.State, which the browser cannot set): `forget` resets them there, and a question
    # asked into an empty conversation follows nothing in any case. An answer still streaming stops:
    # its next piece would bring the cleared conversation back.
    chat.clear.click(None, None, [chat.chatbot, chat.sources, chat.box], js=f"() => [[], {no_sources}, '']")
    chat.chatbot.clear(None, None, [chat.sources], js=f"() => [{no_sources}]")
    forget = handlers.forget  # one function for the three triggers, as `respond` above
    for cleared in (chat.clear.click, chat.chatbot.clear, chat.collection.input):
        cleared(forget, None, [questions], cancels=answering, api_visibility="private")
    gr.api(handlers.ask, api_name="ask")


def make_app(live: LiveEngine, knowledge_base: KnowledgeBase, collections: LiveCollections | None = None):
    """The Gradio Blocks app: the chat (over any collection of the store) and the 资料库 tab (of the
    server's own collection), over live engines; builds nothing."""
    import gradio as gr

    collections = collections or LiveCollections(live)
    engine = live.current()
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\n{SUBTITLE}")
        with gr.Tab("对话", elem_id="tab-chat"):
            chat = lay_out_chat(engine, collections.names())
        with gr.Tab("资料库", elem_id="tab-library") as library_tab:
            library_view(knowledge_base, library_tab)
        with gr.Tab("网页与订阅", elem_id="tab-web") as web_tab:
            web_view(knowledge_base, web_tab)
        wire_chat(app, chat, ChatHandlers(collections), sources_html(None, engine))
    return app


def log_to_stderr() -> None:
    """The server log on stderr: one line per event of ours (a refused question or file, a reloaded
    index), tracebacks only for bugs."""
    logger = logging.getLogger("qa")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def is_loopback(host: str) -> bool:
    """True when `host` is reachable only from this machine."""
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def serve(live: LiveEngine, knowledge_base: KnowledgeBase | None = None, host: str = "127.0.0.1",
          port: int = 7860, auth: tuple[str, str] | None = None, api_key: str | None = None) -> None:
    """Serve the OpenAI-compatible API and, with a knowledge base, the web page on one host and port
    (blocks until stopped)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    log_to_stderr()
    import uvicorn
    from fastapi import FastAPI

    @contextlib.asynccontextmanager
    async def start_reader(_):
        # The reader loads once the page is built: loading it beside the imports and the page's
        # construction slowed the start, and answers come without it until it is ready.
        reader = live.current().reader
        if reader is not None:
            reader.start()
        yield

    api = FastAPI(title=TITLE, docs_url=None, redoc_url=None, lifespan=start_reader)
    collections = LiveCollections(live)
    api.include_router(openai_router(collections, api_key))
    if knowledge_base is not None:
        import gradio as gr

        theme = gr.themes.Soft(font=["WenQuanYi Micro Hei", "Noto Sans CJK SC", "PingFang SC", "sans-serif"],
                               font_mono=["monospace"])
        blocks = make_app(live, knowledge_base, collections)
        # Events answered at once (questions, and the /ask API: QA_CONCURRENCY); the 资料库's uploads and
        # deletions run one at a time in their own queue, so a rebuild never holds a question up.
        blocks.queue(default_concurrency_limit=live.settings.concurrency)
        gr.mount_gradio_app(api, blocks, path="/", auth=auth, theme=theme, css=CSS, show_error=True,
                            max_file_size=f"{knowledge_base.max_upload_mb:g}mb")
    uvicorn.run(api, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
