"""Reading news articles from folders of .md/.txt/.jsonl/.pdf/.html/.docx files and
screenshots (.png/.jpg/.webp, read by OCR) into `Article`s.

Seed-style files: an article starts at a Markdown heading; the first short lines under it
may be a source/date line ("中国网 11月19日 讯（记者 王瑞芳）"), kept as metadata
(`qa.ingest.metadata_lines`). Paragraphs broken in mid-sentence (PDF-style) are joined again. A file is read as what its content is,
not what its name says; PDF, HTML and Word files go through the readers of `qa.ingest.formats`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.errors import CorpusError
from qa.ingest.dates import (
    ISO_DATE,
    parse_date,
    parse_dateline,
    year_in_path,
    year_named_beside_day,
    year_written_with_day,
)
from qa.ingest.formats import READERS, TEXT_KINDS, detect_kind
from qa.ingest.metadata_lines import first_date, split_source_lines, take_metadata_lines
from qa.ingest.text_decoding import decode_text

TEXT_SUFFIXES = TEXT_KINDS
ARTICLE_SUFFIXES = TEXT_SUFFIXES + (".jsonl",) + tuple(READERS)
# A paragraph ending in one of these (optionally followed by closing quotes) ends for real.
_TERMINAL = "。！？!?；;…"
_CLOSERS = "”’\"'」』）)】》"
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
# Bumped whenever reading changes what an article is (its text, date or source): an index built by
# an older reader is then out of date, and `qa chat` rebuilds it (reusing every unchanged vector).
READER_VERSION = "5: a missing year comes from the article or its file, never from the rest of the corpus"
_MAX_SUBHEADING = 15


@dataclass(frozen=True)
class Article:
    """One news article: `text` is the repaired body; chunk offsets point into it."""

    id: str
    title: str
    text: str
    source: str = ""
    date: str = ""  # ISO ("2023-07-28", "2023-07-28T16:40") when it could be read, else as written
    url: str = ""
    path: str = ""
    date_raw: str = ""  # the date as the article or its feed wrote it
    # Where a missing year came from: "article" (its own text), "file" (its path or the other articles of
    # its file), "given" (the year the user gave its folder or upload); "" = none was missing.
    date_inferred: str = ""
    place: str = ""  # from the dateline: "北京" in "新华社北京10月24日电"
    reporters: tuple[str, ...] = ()
    origin: str = ""  # "" its file's own text; "ocr" read off an image; "summary" a feed's summary of the page


ORIGINS = ("", "ocr", "summary")


@dataclass
class LoadReport:
    """What `load_articles` read and what it had to skip (with the reason)."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def skip(self, message: str, strict: bool) -> None:
        """Note what was skipped and why; with `strict`, stop there instead (CorpusError)."""
        if strict:
            raise CorpusError(message)
        self.skipped.append(message)


def article_id(path: str, title: str, ordinal: int = 0) -> str:
    """A stable id from the file's path and the article's title."""
    key = f"{path}\n{title}\n{ordinal}" if ordinal else f"{path}\n{title}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _ends_paragraph(paragraph: str) -> bool:
    return paragraph.rstrip(_CLOSERS)[-1:] in _TERMINAL or paragraph[-1:] in _TERMINAL


def _looks_like_subheading(paragraph: str) -> bool:
    return len(paragraph) <= _MAX_SUBHEADING and not re.search(r"[，,：:；;]", paragraph)


def repair_paragraphs(paragraphs: list[str]) -> list[str]:
    """Join paragraphs broken in mid-sentence ("坚持双向发" + "力，…"); keep real breaks."""
    repaired: list[str] = []
    for paragraph in paragraphs:
        if repaired and not _ends_paragraph(repaired[-1]) and not _looks_like_subheading(repaired[-1]):
            repaired[-1] += paragraph
        else:
            repaired.append(paragraph)
    return repaired


def publication_date(raw: str, path: str, text: str) -> tuple[str, str]:
    """(ISO date, where a missing year came from) for the raw date of an article at `path`: the year
    the article writes with its day ("2024年11月19日"), else the one its file's path names."""
    iso, _ = parse_date(raw)
    if iso or not raw:
        return iso, ""
    for year, where in ((year_written_with_day(raw, text), "article"), (year_in_path(path), "file")):
        iso = parse_date(raw, year)[0] if year else ""
        if iso:
            return iso, where
    return "", ""


def make_article(path: str, title: str, body: str, source: str = "", date: str = "",
                 url: str = "", ordinal: int = 0, reporters: tuple[str, ...] = (), origin: str = "") -> Article | None:
    """Clean a raw body into an Article, or None when nothing readable is left. Source and date
    come from the arguments, else the source lines, metadata lines or wire dateline at the top;
    metadata lines and source lines that credit no one leave the text; a source line that credits
    reporters stays as its first line, and a dateline inside the lead stays."""
    paragraphs = [p.strip(" \t\u3000\xa0") for p in body.split("\n")]
    paragraphs = [p for p in paragraphs if p]
    found_source, found_date, byline, paragraphs = split_source_lines(paragraphs)
    meta_source, meta_date, paragraphs = take_metadata_lines(paragraphs)
    # A wire dateline opening the lead ("新华社北京10月24日电（记者 李明）记者24日从…") gives the source,
    # place, day and reporters, and stays in the text: its day is often the only one the story names.
    if not paragraphs:
        return None
    dateline = parse_dateline(byline or paragraphs[0])
    text = "\n".join(([byline] if byline else []) + repair_paragraphs(paragraphs))
    raw = (date or found_date or meta_date or (dateline.date if dateline else "") or first_date(text)).strip()
    published, inferred = publication_date(raw, path, text)
    title = title.strip() or text[:30]
    return Article(
        id=article_id(path, title, ordinal), title=title, text=text,
        source=source or found_source or meta_source or (dateline.source if dateline else ""),
        date=published or raw, url=url, path=path, date_raw=raw, date_inferred=inferred,
        place=dateline.place if dateline else "", reporters=dateline.reporters if dateline and dateline.reporters
        else tuple(reporters), origin=origin,
    )


def _lacks_year(article: Article) -> bool:
    return bool(article.date_raw) and not ISO_DATE.match(article.date)


def _with_year(article: Article, year: int | None, where: str) -> Article:
    iso = parse_date(article.date_raw, year)[0] if year and _lacks_year(article) else ""
    return replace(article, date=iso, date_inferred=where) if iso else article


def with_file_years(articles: list[Article], year: int | None = None) -> list[Article]:
    """The articles of one file, each date still without a year completed: with the year most of the
    file's dated articles have (in a file with none, first with the year each names beside its day:
    "11月19日，…2024中国5G+工业互联网大会开幕"), else with `year`, the one the user gave the folder or
    upload. Nothing outside the file counts: adding or removing another file never changes these dates."""
    if not any(ISO_DATE.match(a.date) for a in articles):
        articles = [_with_year(a, year_named_beside_day(a.date_raw, a.text), "article") for a in articles]
    years = Counter(int(a.date[:4]) for a in articles if ISO_DATE.match(a.date))
    if years:
        common = max(years, key=lambda y: (years[y], y))
        articles = [_with_year(a, common, "file") for a in articles]
    return [_with_year(a, year, "given") for a in articles]


def parse_markdown(text: str, path: str) -> list[Article]:
    """Articles of a .md/.txt file: one per heading, or the whole file as one article."""
    sections: list[tuple[str, list[str]]] = []
    for line in text.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            sections.append((heading.group(1), []))
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            sections.append(("", [line]))
    if sections and not sections[0][0]:
        lines = [l for l in sections[0][1] if l.strip()]
        first = lines[0].strip() if lines else ""
        # A headless file: its first line is the title when it reads like one.
        if first and len(first) <= 40 and not _ends_paragraph(first) and len(lines) > 1:
            sections[0] = (first, sections[0][1][sections[0][1].index(lines[0]) + 1:])
        else:
            sections[0] = (Path(path).stem, sections[0][1])
    articles = []
    seen: dict[str, int] = {}
    for title, lines in sections:
        ordinal = seen.get(title, 0)
        seen[title] = ordinal + 1
        article = make_article(path, title, "\n".join(lines), ordinal=ordinal)
        if article:
            articles.append(article)
    return articles


def parse_jsonl(text: str, path: str, report: LoadReport, strict: bool = False) -> list[Article]:
    """Articles of a .jsonl file, one {"title", "text", "source"?, "date"?, "url"?, "reporters"?, "origin"?}
    per line ("origin": "summary" when the text is a feed's summary, not the page's; "ocr" read off an image)."""
    articles = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise ValueError('each line must be an object with a "text" string')
            title = str(record.get("title") or "")
            reporters = record.get("reporters") or []
            if not isinstance(reporters, list) or not all(isinstance(r, str) for r in reporters):
                raise ValueError('"reporters" must be a list of names')
            if record.get("origin", "") not in ORIGINS:
                raise ValueError(f'"origin" must be one of {", ".join(repr(o) for o in ORIGINS if o)}')
        except ValueError as error:
            report.skip(f"{path}:{number}: malformed JSONL line ({error})", strict)
            continue
        ordinal = seen.get(title, 0)
        seen[title] = ordinal + 1
        article = make_article(
            path, title, record["text"], source=str(record.get("source") or ""),
            date=str(record.get("date") or ""), url=str(record.get("url") or ""), ordinal=ordinal,
            reporters=tuple(r.strip() for r in reporters if r.strip()), origin=record.get("origin", ""),
        )
        if article:
            articles.append(article)
    return articles


def first_folder(roots: tuple[Path, ...] | list[Path]) -> Path | None:
    """The first of the corpus paths that is a folder: where new articles are saved."""
    return next((Path(root) for root in roots if Path(root).is_dir()), None)


def article_files(root: Path) -> list[Path]:
    """The article files under a folder (hidden ones left out), or the file itself."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise CorpusError(f"corpus not found at {root}: give a folder or file of articles (--corpus)")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def parse_file(data: bytes, suffix: str, label: str, report: LoadReport, strict: bool = False,
               year: int | None = None) -> list[Article]:
    """The articles in one file's bytes, read as what the content is (`suffix` is what its name says).

    `label` names the file in ids and messages; `year` is the one the user gave for dates without
    one (see `with_file_years`). A file that cannot be read adds its message to `report.skipped`
    and gives no article, or raises CorpusError under `strict`.
    """
    try:
        kind = detect_kind(data, label, suffix)
        if kind in READERS:
            document = READERS[kind](data, label)
            article = make_article(label, document.title, document.body, source=document.source,
                                   date=document.date, url=document.url, reporters=document.reporters,
                                   origin=document.origin)
            found = [article] if article else []
        elif kind == ".jsonl":
            found = parse_jsonl(decode_text(data, label), label, report, strict)
            if not found:
                return []  # its lines were reported one by one
        else:
            found = parse_markdown(decode_text(data, label), label)
        if not found:
            raise CorpusError(f"{label}: no article text found: add the article's text, or remove the file")
    except CorpusError as error:
        if strict:
            raise
        report.skipped.append(str(error))
        return []
    return with_file_years(found, year)


def load_articles(roots: tuple[Path, ...] | list[Path], strict: bool = False, year: int | None = None) -> LoadReport:
    """Read every article under the given folders/files; bad files are skipped and reported. `year`
    is the one the user gave the folders, for dates that lack one and that nothing in their file dates."""
    report = LoadReport()
    for root in roots:
        root = Path(root)
        for file in article_files(root):
            name = file.relative_to(root).as_posix() if root.is_dir() else file.name
            label = f"{root.name}/{name}" if root.is_dir() else name
            try:
                data = file.read_bytes()
            except OSError as error:
                report.skip(f"{file}: cannot be read ({error.strerror}): check its permissions", strict)
                continue
            report.articles.extend(parse_file(data, file.suffix, label, report, strict, year))
    return report
