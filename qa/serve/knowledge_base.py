"""The knowledge base as the chat manages it: list the articles, add files, remove files, rebuild.

Files are checked before anything changes: size, content (not the name), and that they parse
into at least one article. A file is saved under a cleaned name inside the corpus folder and
never replaces another file. The rebuild is the incremental `qa build`, under the index's lock;
the live engine then answers from the new index on its next question.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from qa.config import Settings
from qa.errors import CorpusError, PermissionRefusedError, UploadError
from qa.index.build import build
from qa.index.incremental import BuildReport, Progress
from qa.index.stores import IndexedArticle
from qa.ingest.corpus import (
    ARTICLE_SUFFIXES,
    LoadReport,
    first_folder,
    parse_file,
    parse_jsonl,
)
from qa.ingest.dates import year_in_path
from qa.ingest.feeds import Feed, FeedList, FeedReport
from qa.ingest.fetch import FetchPolicy
from qa.ingest.formats import detect_kind
from qa.ingest.text import normalise
from qa.ingest.text_decoding import decode_text
from qa.ingest.web_articles import add_web_page
from qa.serve.live import LiveEngine

MAX_NAME_CHARS = 80
MIN_YEAR, MAX_YEAR = 1900, 2099  # the years a file's name can carry (`qa.ingest.dates.year_in_path`)
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_name(name: str, suffix: str) -> str:
    """A plain file name for an upload: no folders, no hidden or control characters, the given suffix."""
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    stem = base[: -len(Path(base).suffix)] if Path(base).suffix else base
    stem = _UNSAFE_NAME.sub("_", stem).strip(" ._")[:MAX_NAME_CHARS] or "upload"
    return stem + suffix


def without_article(data: bytes, label: str, article_id: str) -> tuple[bytes | None, int]:
    """A .jsonl file's bytes without the line that gives article `article_id` (as read under the
    name `label`), and how many articles the other lines give; (None, 0) when no line gives it."""
    text = decode_text(data, label)
    raw = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")  # as decode_text splits lines
    lines = text.split("\n")
    read = parse_jsonl(text, label, LoadReport())
    # Which line gave each article: a line gives one alone exactly when it does in the file.
    giving = [i for i, line in enumerate(lines) if line.strip() and parse_jsonl(line, label, LoadReport())]
    if len(raw) != len(lines) or len(giving) != len(read):
        return None, 0
    line = dict(zip((a.id for a in read), giving)).get(article_id)
    if line is None:
        return None, 0
    return b"\n".join(raw[:line] + raw[line + 1:]), len(read) - 1


def upload_year(value: int | float | str | None) -> int | None:
    """The year given with an upload (a number or its text; None or "" when none), or UploadError."""
    text = str(value).strip() if value is not None else ""
    if text in ("", "0", "0.0"):
        return None
    try:
        year = float(text)
    except ValueError:
        year = -1.0
    if not (year.is_integer() and MIN_YEAR <= year <= MAX_YEAR):
        raise UploadError(f"year {text!r}: give a year from {MIN_YEAR} to {MAX_YEAR}, e.g. 2023, or none",
                          zh=f"年份“{text}”无效：请填写 {MIN_YEAR} 到 {MAX_YEAR} 之间的四位年份（如 2023），或留空。")
    return int(year)


@dataclass
class Saved:
    """An upload that was accepted: the file it became and the articles it holds."""

    path: Path
    articles: int


class KnowledgeBase:
    """The articles behind a live engine; `editable` is False where the server refuses changes."""

    def __init__(self, live: LiveEngine, editable: bool = True, refusal: str = "",
                 fetch_policy: FetchPolicy = FetchPolicy()) -> None:
        self.live = live
        self.editable = editable
        self.refusal = refusal
        self.max_upload_mb = live.settings.max_upload_mb  # QA_MAX_UPLOAD_MB
        self.fetch_policy = fetch_policy  # what links and feeds added from the page may fetch

    @property
    def settings(self) -> Settings:
        return self.live.settings

    def folder(self) -> Path:
        """The corpus folder uploads go to: the first corpus path that is a folder."""
        folder = first_folder(self.settings.corpus)
        if folder is not None:
            return folder
        raise UploadError("the corpus is not a folder, so files cannot be added from the page: "
                          "start `qa chat --corpus FOLDER`",
                          zh="资料库不是一个文件夹，不能在页面上添加文件：请用 qa chat --corpus 文件夹 启动服务。")

    def articles(self, title_query: str = "") -> list[IndexedArticle]:
        """The indexed articles whose title contains `title_query` (case, width and script folded)."""
        listed = self.live.current().store.articles()
        wanted = normalise(title_query.strip()).lower()
        return [a for a in listed if wanted in normalise(a.title).lower()] if wanted else list(listed)

    def _check_editable(self) -> None:
        if not self.editable:
            raise PermissionRefusedError(self.refusal, zh=self.refusal)

    def check(self, name: str, data: bytes) -> tuple[str, int]:
        """The suffix the content really has and its number of articles, or UploadError saying why not."""
        if len(data) > self.max_upload_mb * 1024 * 1024:
            raise UploadError(f"{name}: {len(data) / 1024 / 1024:.1f} MB is over the {self.max_upload_mb:g} MB limit "
                              "(QA_MAX_UPLOAD_MB): split the file or raise the limit",
                              zh=f"文件有 {len(data) / 1024 / 1024:.1f} MB，超过 {self.max_upload_mb:g} MB 的上限："
                                 "请拆分后再添加。")
        try:
            suffix = detect_kind(data, name)
            report = LoadReport()
            articles = parse_file(data, suffix, name, report, strict=True)
        except CorpusError as error:
            raise UploadError(str(error), zh=vars(error).get("zh")) from error  # its own Chinese, if it has one
        if not articles:
            raise UploadError(f"{name}: no article text found; nothing was added")
        return suffix, len(articles)

    def add(self, name: str, data: bytes, year: int | float | str | None = None) -> Saved:
        """Save one checked file into the corpus folder under a free, cleaned name (no rebuild). With
        `year`, its dates written without one ("11月19日") take it, unless an article writes its day
        out with its year: the name carries the year ("x-2023.md"), so every later build reads it so."""
        self._check_editable()
        given = upload_year(year)
        suffix, count = self.check(name, data)
        folder = self.folder()
        wanted = safe_name(name, suffix)
        if given and year_in_path(wanted) != given:
            wanted = f"{Path(wanted).stem}-{given}{suffix}"
        temporary = folder / f".{wanted}.{os.getpid()}.part"  # hidden: never read as an article
        temporary.write_bytes(data)
        try:
            for attempt in range(1, 1000):
                target = folder / (wanted if attempt == 1 else f"{Path(wanted).stem}-{attempt}{suffix}")
                try:
                    os.link(temporary, target)  # fails if the name is taken: nothing is overwritten
                except FileExistsError:
                    continue
                return Saved(target, count)
        finally:
            temporary.unlink(missing_ok=True)
        raise UploadError(f"{name}: no free file name left in {folder}")

    def file_of(self, article_path: str) -> Path:
        """The corpus file an indexed article came from (its path is `<corpus folder name>/<file>`)."""
        head, _, rest = article_path.partition("/")
        for root in self.settings.corpus:
            root = Path(root)
            if root.is_dir() and root.name == head and rest:
                file = (root / rest).resolve()
                if root.resolve() in file.parents and file.suffix.lower() in ARTICLE_SUFFIXES and file.is_file():
                    return file
        raise UploadError(f"{article_path}: not a file of the corpus folder; it cannot be deleted from the page",
                          zh=f"{article_path} 不在资料库的文件夹中，不能在页面上删除。")

    def remove(self, article_path: str) -> Path:
        """Delete the corpus file an article came from (no rebuild)."""
        self._check_editable()
        file = self.file_of(article_path)
        file.unlink()
        return file

    def article(self, article_id: str) -> IndexedArticle:
        """The indexed article with this id, or UploadError when it is no longer indexed."""
        found = self.live.current().store.articles_by_id([article_id]).get(article_id)
        if found is None:
            raise UploadError(f"article {article_id} is no longer in the index: refresh the list",
                              zh="这篇文章已不在资料库中：请刷新列表后重新选择。")
        return found

    def articles_of_file(self, article_path: str) -> list[IndexedArticle]:
        """The indexed articles read from one corpus file."""
        return [a for a in self.articles() if a.path == article_path]

    def remove_article(self, article_id: str) -> IndexedArticle:
        """Delete one article of a .jsonl file: its line, or the file when no other article is in it
        (no rebuild). An article of any other kind of file goes only with its file (`remove`)."""
        self._check_editable()
        article = self.article(article_id)
        file = self.file_of(article.path)
        if file.suffix.lower() != ".jsonl":
            raise UploadError(f"{article.path}: only the articles of a .jsonl file can be deleted one by one; "
                              "delete the whole file", zh="只有 .jsonl 文件中的文章可以单篇删除：请删除整个文件。")
        kept, others = without_article(file.read_bytes(), article.path, article_id)
        if kept is None:
            raise UploadError(f"{article.path}: the article is no longer in the file: refresh the list",
                              zh="文件中已找不到这篇文章：请刷新列表后重新选择。")
        if not others:
            file.unlink()
            return article
        temporary = file.with_name(f".{file.name}.{os.getpid()}.part")  # hidden: never read as an article
        temporary.write_bytes(kept)
        os.replace(temporary, file)  # readers see the old file or the new one, never half of it
        return article

    def add_url(self, url: str) -> tuple[Path, str]:
        """Fetch the page at `url` and save its article in the corpus folder (no rebuild): (file, title)."""
        self._check_editable()
        return add_web_page(self.folder(), url, self.fetch_policy)

    def feed_list(self) -> FeedList:
        return FeedList(self.folder())

    def add_feed(self, url: str) -> Feed:
        """Follow a feed (no update)."""
        self._check_editable()
        return self.feed_list().add(url, self.fetch_policy)

    def remove_feed(self, url: str) -> Feed:
        """Stop following a feed; its articles stay."""
        self._check_editable()
        return self.feed_list().remove(url)

    def update_feeds(self, only: str = "") -> list[FeedReport]:
        """Update every feed (or `only` the one at that address) once (no rebuild)."""
        self._check_editable()
        return self.feed_list().update(self.fetch_policy, only=only)

    def rebuild(self, on_progress: Progress | None = None, on_wait=None) -> BuildReport:
        """The incremental build of the corpus, then the live engine switched to it."""
        report = build(self.settings, progress=False, embedder=self.live.embedder, on_progress=on_progress,
                       on_wait=on_wait, what="the chat's 资料库")
        self.live.current()
        return report
