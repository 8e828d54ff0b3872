"""Who reported a story: questions that ask it ("这篇稿子是哪个记者写的？") and the byline opening the
story that answers them ("中国网 11月19日 讯（记者 王瑞芳）", "新华社北京10月24日电（记者 李明）…")."""

from __future__ import annotations

import re

from .dates import parse_dateline

# Asking for a reporter or the writer of a piece, and naming a news piece or its reporter (so that
# "《张居正》的作者是谁？" asks about a book, not about the story that mentions it).
_WHO_WROTE = re.compile(r"(?:哪[个位些名]?|什么)记者|记者(?:是谁|叫什么|姓什么|的名字|名字)|谁(?:写|报道|采写|撰写|编写)的"
                        r"|是谁(?:写|报道|采写|撰写)|(?:作者|撰稿人?)(?:是谁|叫什么|是哪)")
_A_NEWS_PIECE = re.compile(r"记者|稿|报道|消息|新闻|文章|这篇|那篇|这条|那条|本文")


def asks_who_reported(question: str) -> bool:
    """Whether the question asks who reported or wrote the story."""
    return bool(_WHO_WROTE.search(question) and _A_NEWS_PIECE.search(question))


def byline_length(lead: str) -> int:
    """Characters of the byline opening a story's lead (0: the lead credits no one)."""
    dateline = parse_dateline(lead)
    if dateline is None or not dateline.reporters:
        return 0
    return len(lead[: dateline.length].rstrip())


def is_byline(sentence: str) -> bool:
    """Whether the sentence is a byline line and nothing more (not a lead that opens with one)."""
    length = byline_length(sentence)
    return length > 0 and length >= len(sentence.strip())
