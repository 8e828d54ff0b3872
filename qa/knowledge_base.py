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

from .build import build
from .config import Settings
from .corpus import ARTICLE_SUFFIXES, LoadReport, parse_file
from .errors import CorpusError, PermissionRefusedError, UploadError
from .formats import detect_kind
from .index import BuildReport, Progress
from .stores import IndexedArticle
from .live import LiveEngine
from .text import normalise

MAX_UPLOAD_MB = float(os.environ.get("QA_MAX_UPLOAD_MB", "20"))
MAX_NAME_CHARS = 80
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_name(name: str, suffix: str) -> str:
    """A plain file name for an upload: no folders, no hidden or control characters, the given suffix."""
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    stem = base[: -len(Path(base).suffix)] if Path(base).suffix else base
    stem = _UNSAFE_NAME.sub("_", stem).strip(" ._")[:MAX_NAME_CHARS] or "upload"
    return stem + suffix


@dataclass
class Saved:
    """An upload that was accepted: the file it became and the articles it holds."""

    path: Path
    articles: int


class KnowledgeBase:
    """The articles behind a live engine; `editable` is False where the server refuses changes."""

    def __init__(self, live: LiveEngine, editable: bool = True, refusal: str = "") -> None:
        self.live = live
        self.editable = editable
        self.refusal = refusal
        self.max_upload_mb = MAX_UPLOAD_MB

    @property
    def settings(self) -> Settings:
        return self.live.settings

    def folder(self) -> Path:
        """The corpus folder uploads go to: the first corpus path that is a folder."""
        for root in self.settings.corpus:
            if Path(root).is_dir():
                return Path(root)
        raise UploadError("the corpus is not a folder, so files cannot be added from the page: "
                          "start `qa chat --corpus FOLDER`")

    def articles(self, title_query: str = "") -> list[IndexedArticle]:
        """The indexed articles whose title contains `title_query` (case, width and script folded)."""
        listed = self.live.current().store.articles()
        wanted = normalise(title_query.strip()).lower()
        return [a for a in listed if wanted in normalise(a.title).lower()] if wanted else list(listed)

    def _check_editable(self) -> None:
        if not self.editable:
            raise PermissionRefusedError(self.refusal)

    def check(self, name: str, data: bytes) -> tuple[str, int]:
        """The suffix the content really has and its number of articles, or UploadError saying why not."""
        if len(data) > self.max_upload_mb * 1024 * 1024:
            raise UploadError(f"{name}: {len(data) / 1024 / 1024:.1f} MB is over the {self.max_upload_mb:g} MB limit "
                              "(QA_MAX_UPLOAD_MB): split the file or raise the limit")
        try:
            suffix = detect_kind(data, name)
            report = LoadReport()
            articles = parse_file(data, suffix, name, report, strict=True)
        except CorpusError as error:
            raise UploadError(str(error)) from error
        if not articles:
            raise UploadError(f"{name}: no article text found; nothing was added")
        return suffix, len(articles)

    def add(self, name: str, data: bytes) -> Saved:
        """Save one checked file into the corpus folder under a free, cleaned name (no rebuild)."""
        self._check_editable()
        suffix, count = self.check(name, data)
        folder = self.folder()
        wanted = safe_name(name, suffix)
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
        raise UploadError(f"{article_path}: not a file of the corpus folder; it cannot be deleted from the page")

    def remove(self, article_path: str) -> Path:
        """Delete the corpus file an article came from (no rebuild)."""
        self._check_editable()
        file = self.file_of(article_path)
        file.unlink()
        return file

    def rebuild(self, on_progress: Progress | None = None, on_wait=None) -> BuildReport:
        """The incremental build of the corpus, then the live engine switched to it."""
        report = build(self.settings, progress=False, embedder=self.live.embedder, on_progress=on_progress,
                       on_wait=on_wait, what="the chat's 资料库")
        self.live.current()
        return report
