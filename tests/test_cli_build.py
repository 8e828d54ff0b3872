"""`qa build` run for real as a subprocess."""

from __future__ import annotations

import json
import shutil

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
