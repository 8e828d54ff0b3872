"""What the page's tabs share: text made safe to show, and errors turned into messages.

A user's mistake (an empty question, a refused file) is shown in Chinese where it happened and
logged as one line; anything else is a bug, logged with its traceback.
"""

from __future__ import annotations

import html
import logging
import re

from qa.errors import QAError

log = logging.getLogger(__name__)
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}#+!|~>-])")


def as_text(text: str) -> str:
    """Text made safe to show as Markdown/HTML: tags escaped, Markdown syntax neutralised."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))


def one_line(text: str) -> str:
    """The text with its line breaks and runs of spaces made single spaces (a log line stays one line)."""
    return " ".join(str(text).split())


def page_message(error: Exception, what: str) -> str:
    """What the page says about an error met while doing `what` ("question", "upload", …): a QAError's
    Chinese message (logged as one line), or a short notice for a bug (logged with its traceback)."""
    if isinstance(error, QAError):
        log.info("%s refused: %s", what, one_line(error))
        return error.zh
    log.exception("%s failed", what)
    return f"出错了（{type(error).__name__}）：请稍后重试；如果一再出现，请把服务器日志交给管理员。"


def readable_error(error: Exception):
    """A gr.Error for the Gradio API (`/ask`, the CLI's twin: its message in English), logged like
    the page's errors and printed without a traceback."""
    import gradio as gr

    if isinstance(error, QAError):
        log.info("question refused: %s", one_line(error))
        return gr.Error(str(error), print_exception=False)
    log.exception("answering failed")
    return gr.Error(f"answering failed ({type(error).__name__}): {one_line(error)}; try again, or ask another way",
                    print_exception=False)
