"""Splitting an article into overlapping chunks of whole sentences, with exact offsets."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from qa.ingest.byline import is_byline
from qa.ingest.corpus import Article
from qa.ingest.text import inside_number, word_spans

# A sentence ends at 。！？!?；;… (closing quotes/brackets stay with it) or at a paragraph break.
_SENTENCE_END = re.compile(r"[。！？!?；;…]+[”’\"'」』）)】》]*|\n+")


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: `text == article.text[start:end]`."""

    id: str
    article_id: str
    title: str
    source: str
    date: str
    text: str
    start: int
    end: int

    @property
    def embed_text(self) -> str:
        """What the embedder sees: the title gives a chunk its topic."""
        return f"{self.title}\n{self.text}"

    @property
    def content_hash(self) -> str:
        """Key of the vector cache: equal embed texts share a vector."""
        return hashlib.sha1(self.embed_text.encode("utf-8")).hexdigest()


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace trimmed, in order."""
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        span = _trimmed(text, start, match.end())
        if span:
            spans.append(span)
        start = match.end()
    span = _trimmed(text, start, len(text))
    if span:
        spans.append(span)
    return spans


def _cut_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than `size` at jieba word boundaries: before a number rather than inside
    it (jieba reads "1,800" as three words), unless the number alone is longer; inside a word only if
    it alone is longer."""
    pieces = []
    piece_start = start
    number_start = start  # where the number holding the current word starts (the word's start if none)
    for w_start, w_end in word_spans(text[start:end]):
        w_start, w_end = w_start + start, w_end + start
        if not inside_number(text, w_start):
            number_start = w_start
        if w_end - piece_start > size and w_start > piece_start:
            cut = number_start if piece_start < number_start and w_end - number_start <= size else w_start
            pieces.append((piece_start, cut))
            piece_start = cut
        while w_end - piece_start > size:  # one word longer than a chunk
            pieces.append((piece_start, piece_start + size))
            piece_start += size
    if piece_start < end:
        pieces.append((piece_start, end))
    return [span for span in (_trimmed(text, s, e) for s, e in pieces) if span]


def _units(text: str, size: int) -> list[tuple[int, int]]:
    units = []
    for start, end in sentence_spans(text):
        units.extend(_cut_long(text, start, end, size) if end - start > size else [(start, end)])
    return units


@dataclass(frozen=True)
class Sentence:
    """The smallest unit of evidence: a sentence (or a piece of an over-long one) of an article."""

    article_id: str
    text: str
    start: int  # offsets into the article text
    end: int

    @property
    def content_hash(self) -> str:
        """Key of the sentence vector cache."""
        return hashlib.sha1(("s\0" + self.text).encode("utf-8")).hexdigest()


def split_sentences(article: Article, size: int = 160) -> list[Sentence]:
    """The article's sentences as chunks are packed from them (over-long ones cut at `size`)."""
    return [Sentence(article.id, article.text[s:e], s, e) for s, e in _units(article.text, size)]


def split_article(article: Article, size: int = 160, overlap: int = 1) -> list[Chunk]:
    """Pack the article's sentences into chunks of at most `size` characters, `overlap` sentences
    shared; a byline line opening the article is in no chunk."""
    if size < 1:
        raise ValueError("chunk size must be at least 1 character")
    text = article.text
    units = _units(text, size)
    if units and is_byline(text[units[0][0]:units[0][1]]):
        # A byline line opening the text ("中国网 11月19日 讯（记者 王瑞芳）") is no passage: it says who
        # reported the story (Engine.who_reported reads it from the sentences), not what happened.
        units = units[1:]
    bounds = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and units[j][1] - units[i][0] <= size:
            j += 1
        bounds.append((units[i][0], units[j - 1][1]))
        if j >= len(units):
            break
        back = min(overlap, j - i - 1)
        # Share sentences with the next chunk only when they fit beside the next new one.
        while back and units[j][1] - units[j - back][0] > size:
            back -= 1
        i = j - back
    return [
        Chunk(id=f"{article.id}-{n:04d}", article_id=article.id, title=article.title,
              source=article.source, date=article.date, text=text[s:e], start=s, end=e)
        for n, (s, e) in enumerate(bounds)
    ]
