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
                                           "start", "end", "score", "also", "reporters", "url", "origin"}


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


def _ask_json(question: str, index_dir) -> dict:
    return json.loads(run_qa("ask", question, "--index", str(index_dir), "--json", "--no-reader", check=True).stdout)


def test_ask_what_a_reporter_wrote(seed_index_dir):
    for question, reporter, byline in (("王瑞芳写了哪篇报道？", "王瑞芳", "中国网 11月19日 讯（记者 王瑞芳）"),
                                       ("罗志雄报道了什么？", "罗志雄", "中国新报讯（罗志雄）")):
        answer = _ask_json(question, seed_index_dir)
        (citation,) = answer["citations"]
        assert answer["abstained"] is False and answer["answer"].startswith(f"{reporter}署名的报道共1篇：《")
        assert citation["title"] in answer["answer"] and answer["answer"].endswith("[1]")
        assert citation["quote"] == byline and citation["reporters"] == [reporter]


def test_ask_which_outlet_ran_a_story(seed_index_dir):
    answer = _ask_json("中欧班列那篇是哪家媒体发的？", seed_index_dir)
    (citation,) = answer["citations"]
    assert answer["answer"] == "《江西中欧班列累计开行突破2000列》没有注明发布媒体，也没有署名记者。[1]"
    assert (citation["source"], citation["reporters"]) == ("", []) and citation["quote"].startswith("当日，X8208次中欧班列")
    answer = _ask_json("洪桥街道那篇是哪家媒体发的？", seed_index_dir)
    assert answer["answer"] == "中国新报讯（罗志雄）[1]" and answer["citations"][0]["source"] == "中国新报"


def test_ask_about_a_reporter_not_in_the_articles(seed_index_dir):
    result = run_qa("ask", "张三写了哪些报道？", "--index", str(seed_index_dir), "--no-reader", check=True)
    assert result.stdout.strip() == "资料中没有张三署名的报道。"
