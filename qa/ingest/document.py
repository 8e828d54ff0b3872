"""What every file reader returns (`Document`) and how its title is found.

A reader (PDF, HTML, .docx, OCR) gives a title when the file names one worth keeping, else takes
the body's first line when it reads like a title, else the file's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

SENTENCE_END = "。！？!?；;…"
MAX_TITLE = 40
# Title metadata that tools write when nobody gave a title.
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:about:blank|untitled.*|无标题.*|新建.*文档.*|microsoft (?:word|powerpoint) - .*|document\d*|文档\d*"
    r"|.*\.(?:docx?|pdf|html?|txt|wps|rtf|indd))$", re.I)


@dataclass(frozen=True)
class Document:
    """What a reader found in one file: the title, the body (paragraphs or lines separated by "\\n"), metadata."""

    title: str
    body: str
    source: str = ""
    date: str = ""
    url: str = ""
    origin: str = ""  # how the text was got when not from the file's own text: "ocr" (read off an image)
    reporters: tuple[str, ...] = ()  # the page's author metadata, as names


def nonblank_lines(text: str) -> list[str]:
    """The lines of a text, stripped, blank ones left out."""
    return [line.strip() for line in text.split("\n") if line.strip()]


def meaningful_title(title: str | None) -> str:
    """A title from a file's metadata, or "" when it is empty, too long or a tool's placeholder ("Untitled")."""
    title = re.sub(r"\s+", " ", title or "").strip()
    if not title or len(title) > 100 or _PLACEHOLDER_TITLE.match(title):
        return ""
    return title if any(ch.isalnum() for ch in title) else ""


def titled(title: str, lines: list[str], name: str) -> tuple[str, list[str]]:
    """The title and the body lines: the title's copy atop the body dropped, or a title taken from the body.

    Without a title, the first line is the title when it reads like one (short, no sentence end),
    else the file's stem is.
    """
    if title:
        return title, lines[_title_lines(lines, title):]
    first = lines[0] if lines else ""
    if len(lines) > 1 and len(first) <= MAX_TITLE and first[-1:] not in SENTENCE_END:
        return first, lines[1:]
    return PurePath(name).stem, lines


def _title_lines(lines: list[str], title: str) -> int:
    """How many of the first lines spell the title (a long title wraps over two or three), else 0."""
    wanted, spelled = re.sub(r"\s", "", title), ""
    for count, line in enumerate(lines[:3], start=1):
        spelled += re.sub(r"\s", "", line)
        if spelled == wanted:
            return count
        if not wanted.startswith(spelled):
            return 0
    return 0
