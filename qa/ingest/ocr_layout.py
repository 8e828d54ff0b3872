"""The layout of text read off a picture: recognised boxes put in reading order, and the title told by its size.

Reading order is an XY cut: top to bottom, a left column before a right one, the boxes of one visual
line joined left to right. The title is the first line when it is set larger than the body (a phone's
status bar above it dropped) or, as for PDFs, when it reads like a title.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from qa.ingest.document import Document, meaningful_title, titled
from qa.ingest.page_lines import display_width, drop_page_furniture, join_full_lines

_TITLE_SCALE = 1.2  # a first line this much taller than the body's lines is set in a title's font
_TITLE_ROWS = 3  # a large title wraps over at most this many lines
_GUTTER = 0.8  # a gap between columns is at least this many line heights wide
_STATUS_BAR = 20  # a line above a large title, this short and without Chinese, is the phone's status bar
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class TextBox:
    """One recognised piece of text and where it sits, in pixels of the image read."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def middle(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class Line:
    """One visual line of text and its font size in pixels, from the pitch of its characters (a box's height
    says less: the detector pads short boxes more than long ones)."""

    text: str
    size: float


def document_of_pages(pages: list[list[Line]], name: str, metadata_title: str = "") -> Document:
    """A Document from the OCR'd lines of one or more pages: title, body without page furniture, wraps joined."""
    large_title, first_page = _large_title(pages[0])  # the large title is no body line
    title = meaningful_title(metadata_title) or large_title
    lines = drop_page_furniture([[line.text for line in page] for page in [first_page, *pages[1:]]], title)
    if not large_title:
        title, lines = titled(title, lines, name)
    return Document(title=title, body="\n".join(join_full_lines(lines)), origin="ocr")


def lines_in_reading_order(boxes: list[TextBox]) -> list[Line]:
    """The lines of a picture's boxes in reading order: top to bottom, columns left to right, boxes on one
    visual line joined left to right."""
    if not boxes:
        return []
    gutter = _GUTTER * statistics.median(box.height for box in boxes)
    return _reading_order(boxes, gutter)


def _reading_order(boxes: list[TextBox], gutter: float) -> list[Line]:
    """The lines of a block of boxes in reading order (an XY cut): runs of bands that share a column gap
    are read column by column, each column in turn the same way; any other band line by line.

    A run starts at a band with text on both sides of a gap: the margins beside a centred title or a
    short line mark no column.
    """
    left, right = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    bands = _bands(boxes)
    lines: list[Line] = []
    start = 0
    while start < len(bands):
        gaps = [(lo, hi) for lo, hi in _gaps(bands[start], left, right, gutter) if left < lo and hi < right]
        end = start + 1
        while end < len(bands) and gaps:
            shared = _common_gaps(gaps, _gaps(bands[end], left, right, gutter), gutter)
            if not shared:
                break
            gaps, end = shared, end + 1
        run = [box for band in bands[start:end] for box in band]
        columns = _columns(run, gaps)
        if columns:
            for column in columns:
                lines.extend(_reading_order(column, gutter))
        else:
            for band in bands[start:end]:
                lines.extend(_rows(band))
        start = end
    return lines


def _bands(boxes: list[TextBox]) -> list[list[TextBox]]:
    """The boxes in horizontal bands, top to bottom: a band ends where no box reaches across to the next."""
    bands: list[list[TextBox]] = []
    bottom = float("-inf")
    for box in sorted(boxes, key=lambda b: b.y0):
        if bands and box.y0 < bottom - 0.25 * min(box.height, bands[-1][-1].height):
            bands[-1].append(box)
        else:
            bands.append([box])
            bottom = float("-inf")
        bottom = max(bottom, box.y1)
    return bands


def _gaps(band: list[TextBox], left: float, right: float, gutter: float) -> list[tuple[float, float]]:
    """The empty stretches of a band between `left` and `right` at least `gutter` wide."""
    gaps, reached = [], left
    for box in sorted(band, key=lambda b: b.x0):
        if box.x0 - reached >= gutter:
            gaps.append((reached, box.x0))
        reached = max(reached, box.x1)
    if right - reached >= gutter:
        gaps.append((reached, right))
    return gaps


def _common_gaps(first: list[tuple[float, float]], second: list[tuple[float, float]],
                 gutter: float) -> list[tuple[float, float]]:
    common = [(max(a0, b0), min(a1, b1)) for a0, a1 in first for b0, b1 in second]
    return [(lo, hi) for lo, hi in common if hi - lo >= gutter]


def _columns(run: list[TextBox], gaps: list[tuple[float, float]]) -> list[list[TextBox]] | None:
    """The run split at its gaps into columns, left to right, when at least two columns hold two lines each."""
    cuts = sorted(gap for gap, _ in gaps)
    columns: list[list[TextBox]] = [[] for _ in range(len(cuts) + 1)]
    for box in run:
        columns[sum(box.x0 >= cut for cut in cuts)].append(box)
    columns = [column for column in columns if column]
    if len(columns) < 2 or sum(len(_rows(column)) >= 2 for column in columns) < 2:
        return None
    return columns


def _rows(boxes: list[TextBox]) -> list[Line]:
    """The visual lines of boxes in one column, top to bottom, each line's boxes joined left to right."""
    rows: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: b.middle):
        if rows and abs(box.middle - statistics.fmean(b.middle for b in rows[-1])) < 0.5 * box.height:
            rows[-1].append(box)
        else:
            rows.append([box])
    return [_joined(row) for row in rows]


def _joined(row: list[TextBox]) -> Line:
    row = sorted(row, key=lambda b: b.x0)
    height = statistics.median(box.height for box in row)
    text = row[0].text
    for before, box in itertools.pairwise(row):
        wide_gap = box.x0 - before.x1 > 0.5 * height
        words = before.text[-1:].isascii() and before.text[-1:].isalnum() and box.text[:1].isascii() \
            and box.text[:1].isalnum()
        text += (" " if wide_gap or words else "") + box.text
    ems = sum(display_width(box.text) for box in row) / 2  # a Chinese character is one em wide, a Latin one about half
    return Line(text, sum(box.x1 - box.x0 for box in row) / ems if ems else height)


def _large_title(lines: list[Line]) -> tuple[str, list[Line]]:
    """(title, the other lines) when the first lines are set larger than the body (a phone's status bar above
    them dropped), else ("", lines)."""
    if len(lines) < 2:
        return "", lines
    body = statistics.median(line.size for line in lines)
    start = 0
    while start < min(len(lines), _TITLE_ROWS) and lines[start].size < _TITLE_SCALE * body \
            and len(lines[start].text) <= _STATUS_BAR and not _CJK.search(lines[start].text):
        start += 1
    end = start
    while end < min(len(lines), start + _TITLE_ROWS) and lines[end].size >= _TITLE_SCALE * body:
        end += 1
    title = meaningful_title(_concatenated(line.text for line in lines[start:end]))
    if not title or end == len(lines):
        return "", lines
    return title, lines[end:]


def _concatenated(texts: Iterable[str]) -> str:
    joined = ""
    for text in texts:
        words = joined[-1:].isascii() and joined[-1:].isalnum() and text[:1].isascii() and text[:1].isalnum()
        joined += (" " if words else "") + text
    return joined
