"""`qa build` run for real as a subprocess."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .conftest import NEWS, run_qa


def _build_json(*args: str) -> dict:
    result = run_qa("build", "--json", *args, check=True)
    return json.loads(result.stdout)


def test_build_is_incremental(tmp_path, corpus_copy):
    index = str(tmp_path / "index")
    first = _build_json("--corpus", str(corpus_copy), "--index", index)
    assert first["articles"] == 3 and first["embedded"] == first["chunks"] > 10
    assert set(first) == {"articles", "chunks", "embedded", "reused", "sentences_embedded", "removed", "seconds", "model",
                          "dated", "sourced", "grouped"}
    assert (first["dated"], first["sourced"], first["grouped"]) == (3, 2, 0)
    assert first["sentences_embedded"] > first["chunks"]
    second = _build_json("--corpus", str(corpus_copy), "--index", index)
    assert (second["embedded"], second["reused"], second["sentences_embedded"]) == (0, first["chunks"], 0)
    shutil.copy(NEWS / "shenzhou.md", corpus_copy / "shenzhou.md")
    third = _build_json("--corpus", str(corpus_copy), "--index", index)
    assert third["articles"] == 4 and third["reused"] == first["chunks"]
    assert third["embedded"] == third["chunks"] - first["chunks"] > 0
    (corpus_copy / "shenzhou.md").unlink()
    fourth = _build_json("--corpus", str(corpus_copy), "--index", index)
    assert (fourth["articles"], fourth["embedded"], fourth["removed"]) == (3, 0, 1)


def test_build_skips_bad_files_by_name(tmp_path, corpus_copy):
    (corpus_copy / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" * 50)
    (corpus_copy / "empty.md").write_bytes(b"")
    result = run_qa("build", "--corpus", str(corpus_copy), "--index", str(tmp_path / "i"), check=True)
    assert "scan.txt" in result.stderr and "empty.md" in result.stderr
    assert "Traceback" not in result.stderr
    assert "3 articles" in result.stdout
    strict = run_qa("build", "--strict", "--corpus", str(corpus_copy), "--index", str(tmp_path / "j"))
    assert strict.returncode == 2 and "qa: error:" in strict.stderr and "Traceback" not in strict.stderr


def test_build_errors_are_one_line(tmp_path):
    missing = run_qa("build", "--corpus", str(tmp_path / "nowhere"), "--index", str(tmp_path / "i"))
    assert missing.returncode == 2 and "corpus not found" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = run_qa("build", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "i"))
    assert empty.returncode == 2 and "no articles found" in empty.stderr

# A build killed halfway: tests/test_live.py kills one at a known point (holding the lock, embedding).


def test_every_name_of_the_bundled_model_is_the_same_model(tmp_path, corpus_copy):
    index = str(tmp_path / "index")
    built = _build_json("--corpus", str(corpus_copy), "--index", index, "--model", "multilingual-e5-small")
    assert built["model"] == "e5-small"
    asked = run_qa("ask", "X8208次中欧班列经由哪个口岸出境？", "--index", index, "--model",
                   "intfloat/multilingual-e5-small", check=True)
    assert "二连浩特" in asked.stdout
    again = _build_json("--corpus", str(corpus_copy), "--index", index, "--model", "multilingual-e5-small")
    assert again["embedded"] == 0  # not taken for another model


def _dates(index: str) -> dict[str, tuple[str, str]]:
    from qa.index.stores import Location

    return {a.title: (a.date, a.date_inferred) for a in Location(Path(index)).open().articles()}


def test_one_new_article_never_redates_the_others_and_a_given_year_stays(tmp_path, corpus_copy):
    index = str(tmp_path / "index")
    _build_json("--corpus", str(corpus_copy), "--index", index)
    seeds = _dates(index)
    assert sorted(date for date, _ in seeds.values()) == ["2024-11-18", "2024-11-19", "2024-11-19"]
    (corpus_copy / "concert.md").write_text("# 新年音乐会在武汉举行\n\n2025年1月1日，新年音乐会在武汉琴台音乐厅举行。",
                                            encoding="utf-8")
    (corpus_copy / "drill.md").write_text("# 洪桥街道开展消防演练\n\n本报讯 3月5日，洪桥街道开展消防演练，居民踊跃参加。",
                                          encoding="utf-8")
    added = _build_json("--corpus", str(corpus_copy), "--index", index)
    assert (added["articles"], added["dated"]) == (5, 4)
    dates = _dates(index)
    assert {title: dates[title] for title in seeds} == seeds  # the 2025 article re-dated none of them
    assert dates["洪桥街道开展消防演练"] == ("3月5日", "")  # no year anywhere: undated
    asked = run_qa("ask", "洪桥街道开展了什么演练？", "--index", index, "--no-reader", check=True)
    assert "洪桥街道开展消防演练 · 日期不详" in asked.stdout  # said so where the answer cites it
    given = _build_json("--corpus", str(corpus_copy), "--index", index, "--year", "2023")
    assert given["dated"] == 5 and given["embedded"] == 0  # only dates changed: no text embedded again
    dates = _dates(index)
    assert dates["洪桥街道开展消防演练"] == ("2023-03-05", "given")
    assert {title: dates[title] for title in seeds} == seeds  # their own year beats the given one
    again = _build_json("--corpus", str(corpus_copy), "--index", index)  # the index keeps the given year
    assert again["dated"] == 5 and _dates(index)["洪桥街道开展消防演练"] == ("2023-03-05", "given")
    wrong = run_qa("build", "--corpus", str(corpus_copy), "--index", index, "--year", "23")
    assert wrong.returncode == 2 and "--year" in wrong.stderr and "Traceback" not in wrong.stderr
