"""`qa ask` run for real as a subprocess: output, JSON shape, exit codes."""

from __future__ import annotations

import json

from .conftest import run_qa


def test_ask_prints_the_answer_then_numbered_sources(seed_index_dir):
    result = run_qa("ask", "大会设置了哪些实物交互体验展示区？", "--index", str(seed_index_dir), check=True)
    answer, sources = result.stdout.split("\n来源：\n")
    assert "实物交互体验展示区" in answer and answer.strip().endswith("[1]")
    assert sources.startswith("[1] 2024 中国 5G+ 工业互联网大会在武汉开幕 · 中国网 · 2024-11-19")


def test_ask_json(seed_index_dir):
    result = run_qa("ask", "中欧班列这次装载的货物要运往哪个国家？", "--index", str(seed_index_dir),
                    "--json", "--mode", "bm25", "--k", "3", check=True)
    answer = json.loads(result.stdout)
    assert set(answer) >= {"question", "answer", "abstained", "citations"}
    assert answer["abstained"] is False and "俄罗斯" in answer["answer"]
    assert set(answer["citations"][0]) == {"n", "article_id", "title", "source", "date", "quote",
                                           "start", "end", "score", "also"}


def test_ask_abstains_out_of_corpus(seed_index_dir):
    result = run_qa("ask", "2022年北京冬奥会的吉祥物叫什么？", "--index", str(seed_index_dir), "--json", check=True)
    assert json.loads(result.stdout)["abstained"] is True


def test_bad_input_exits_2_with_one_line(tmp_path, seed_index_dir):
    for args in (["  "], ["问" * 600], ["问题", "--index", str(tmp_path / "none")],
                 ["问题", "--index", str(seed_index_dir), "--model", "other-model"]):
        result = run_qa("ask", *args)
        assert result.returncode == 2, args
        assert result.stderr.startswith("qa: error:") and result.stderr.count("\n") == 1, result.stderr
    assert "qa build" in run_qa("ask", "问题", "--index", str(tmp_path / "none")).stderr
    assert run_qa("ask", "问题", "--mode", "magic").returncode == 2
