"""What the page's tabs share: text made safe to show, and errors turned into messages."""

from __future__ import annotations

import html
import logging
import re

from .errors import QAError

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}#+!|~>-])")


def as_text(text: str) -> str:
    """Text made safe to show as Markdown/HTML: tags escaped, Markdown syntax neutralised."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))


def readable_error(error: Exception):
    """A gr.Error for the page: the message of a QAError, a short notice for anything else."""
    import gradio as gr

    if isinstance(error, QAError):
        return gr.Error(str(error))
    logging.getLogger(__name__).exception("answering failed")
    return gr.Error(f"回答时出错（{type(error).__name__}）：{error}。请稍后重试，或换一种问法。")
