"""The lines of printed pages (a PDF's text layer, a scan read by OCR): page furniture dropped, lines
wrapped at the right margin joined again.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

from qa.ingest.document import SENTENCE_END

_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:第\s*)?\d{1,4}(?:\s*页)?(?:\s*[/／]\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?(?:\s*[-–—])?$"
    r"|^page\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_EDGE_LINES = 3  # headers and footers sit in the first or last lines of a page's text
_MAX_FURNITURE = 120  # characters: a running header may hold the print date and the whole title
# A browser's print header and footer: "12/6/26, 11:18 AM 标题" (or "2024/11/19 上午11:18"), then the page's
# address and a page counter ("file:///…/a.html 1/4"); matched on NFKC text, as PDFs write "ﬁle" with a ligature.
_URL_LINE = re.compile(r"^(?:(?:https?|file|ftp)://\S*|www\.\S+|about:blank)"
                       r"(?:\s+(?:page\s*)?\d{1,4}\s*(?:[/／]|of)\s*\d{1,4})?$", re.I)
_PRINT_STAMP = re.compile(
    r"^(?:\d{1,2}/\d{1,2}/\d{2,4},?\s*\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]\.?M\.?)?"
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\s*(?:上午|下午)?\s*\d{1,2}:\d{2}(?::\d{2})?)\s*(?P<rest>.*)$", re.I)
_FULL_LINE = 0.75  # a line this wide (of the page's text width) was wrapped, not ended
_MIN_LINES_FOR_MARGIN = 5


def _shape(line: str) -> str:
    """A line with its numbers blanked: "第3页 共9页" and "第4页 共9页" are the same footer."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def drop_page_furniture(pages: list[list[str]], title: str = "") -> list[str]:
    """The lines of all pages, less the page furniture: lines alone holding an address, and at the top
    or bottom of a page, page counters, a browser's print header ("12/6/26, 11:18 AM <title>") and
    the header/footer lines repeated on most pages."""
    edge_count: Counter[str] = Counter()
    for lines in pages:
        edge_count.update({_shape(line) for line in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]
                           if len(line) <= _MAX_FURNITURE})
    needed = max(2, math.ceil(0.6 * len(pages)))
    repeated = {shape for shape, count in edge_count.items() if count >= needed}
    kept = []
    for lines in pages:
        for position, line in enumerate(lines):
            at_edge = position < _EDGE_LINES or position >= len(lines) - _EDGE_LINES
            plain = unicodedata.normalize("NFKC", line)
            furniture = _PAGE_NUMBER.match(plain) or _shape(line) in repeated or _is_print_header(plain, title)
            if not (_URL_LINE.match(plain) or (at_edge and furniture)):
                kept.append(line)
    return kept


def _is_print_header(line: str, title: str) -> bool:
    """Whether a line is a print date and time, alone or before the page's title or address."""
    stamp = _PRINT_STAMP.match(line)
    if not stamp:
        return False
    rest = re.sub(r"\s+", "", stamp["rest"]).rstrip("….")
    whole = re.sub(r"\s+", "", unicodedata.normalize("NFKC", title))  # compared as `line` is: NFKC
    return not rest or bool(_URL_LINE.match(stamp["rest"])) or bool(whole and whole.startswith(rest))


def display_width(line: str) -> int:
    """A line's width in half-width cells: Chinese (wide and full-width) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def join_full_lines(lines: list[str]) -> list[str]:
    """Join each line that runs to the right margin with the next one.

    A full line was wrapped by the layout, even when it looks like a subheading to
    `repair_paragraphs` ("武汉东湖高新区管委会副主任张建" + "华在开幕式上…"); lines ending a
    sentence are left alone. The margin is estimated from the longest lines' display width.
    """
    if len(lines) < _MIN_LINES_FOR_MARGIN:
        return lines
    widths = sorted(display_width(line) for line in lines)
    full = _FULL_LINE * widths[int(0.9 * (len(widths) - 1))]
    joined: list[str] = []
    wrapped = False
    for line in lines:
        if wrapped:
            space = " " if (joined[-1][-1:].isascii() and joined[-1][-1:].isalnum()
                            and line[:1].isascii() and line[:1].isalnum()) else ""
            joined[-1] += space + line
        else:
            joined.append(line)
        wrapped = display_width(line) >= full and line[-1] not in SENTENCE_END
    return joined
