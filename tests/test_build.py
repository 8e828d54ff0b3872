"""Knowing when the index is out of date (what `qa chat` checks before serving)."""

from __future__ import annotations

import shutil

from qa.config import Settings
from qa.index.build import build, index_is_current


def test_index_is_current_follows_the_corpus_content(tmp_path, corpus_copy):
    settings = Settings(corpus=(corpus_copy,), index_dir=tmp_path / "index")
    assert not index_is_current(settings)
    build(settings, progress=False)
    assert index_is_current(settings)
    # A copy of the same files (a fresh clone) is not a change.
    copy = tmp_path / "copy"
    shutil.copytree(corpus_copy, copy)
    assert index_is_current(Settings(corpus=(copy,), index_dir=tmp_path / "index"))
    (corpus_copy / "more.md").write_text("# 新文章\n\n新的一句话。", encoding="utf-8")
    assert not index_is_current(settings)
    assert not index_is_current(Settings(corpus=(copy,), index_dir=tmp_path / "index", chunk_size=80))
