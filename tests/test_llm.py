"""The optional LLM path against a real local server speaking the chat-completions protocol."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.answer.compose import MARKER, keep_valid_markers
from qa.answer.llm import LLMConfig, build_messages

from . import llm_server


@pytest.fixture(scope="module")
def server_url():
    server, url = llm_server.start()
    yield url
    server.shutdown()


@pytest.fixture()
def with_llm(engine, server_url):
    def use(model: str, timeout: float = 10.0):
        return replace(engine, llm=LLMConfig(server_url, model, api_key="secret", timeout=timeout))

    return use


def test_streamed_answer_keeps_only_valid_citations(with_llm, seed_articles):
    engine = with_llm("cite")
    steps = list(engine.stream("中欧班列这次装载的货物要运往哪个国家？"))
    partials = [text for text, final in steps if final is None]
    assert len(partials) >= 3 and partials[0] == "货物将运往"  # streamed piece by piece
    answer = steps[-1][1]
    assert answer.text == "货物将运往俄罗斯谢利亚季诺[1]，全程约2600公里。"
    assert {int(n) for n in MARKER.findall(answer.text)} == {c.n for c in answer.citations} == {1}
    quote = answer.citations[0]
    article = next(a for a in seed_articles if a.id == quote.article_id)
    assert article.text[quote.start:quote.end] == quote.quote and "俄罗斯" in quote.quote
    sent = llm_server.Handler.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer secret"
    assert sent["body"]["stream"] is True and "[1]" in sent["body"]["messages"][1]["content"]


@pytest.mark.parametrize("model, notice", [("broken", "大模型暂不可用"), ("slow", "大模型暂不可用"),
                                            ("nocite", "没有引用来源")])
def test_failures_fall_back_to_the_extractive_answer(with_llm, model, notice):
    engine = with_llm(model, timeout=1.0)
    answer = engine.ask("中欧班列这次装载的货物要运往哪个国家？")
    assert notice in answer.notice and "俄罗斯" in answer.text and answer.citations


def test_unreachable_server_falls_back(engine):
    answer = replace(engine, llm=LLMConfig("http://127.0.0.1:9/v1", "any", timeout=1.0)).ask(
        "中欧班列这次装载的货物要运往哪个国家？")
    assert "大模型暂不可用" in answer.notice and answer.citations


def test_llm_saying_not_found_abstains(with_llm):
    assert with_llm("notfound").ask("中欧班列这次装载的货物要运往哪个国家？").abstained


def test_who_reported_a_story_is_the_byline_even_with_an_llm(with_llm):
    """The byline is in no passage the LLM is shown: the quoted byline answers, the LLM is not asked."""
    asked = len(llm_server.Handler.requests)
    answer = with_llm("cite").ask("洪桥街道那条消息是谁报道的？")
    assert answer.text == "中国新报讯（罗志雄）[1]" and len(llm_server.Handler.requests) == asked


def test_prompt_numbers_the_sources(engine):
    _, hits = engine.search("中欧班列这次装载的货物要运往哪个国家？")
    messages = build_messages("问题？", [h.chunk for h in hits[:2]])
    assert messages[0]["role"] == "system" and "[1]" in messages[0]["content"]
    assert "[1] 《" in messages[1]["content"] and "[2] 《" in messages[1]["content"]


def test_invalid_markers_are_removed():
    assert keep_valid_markers("甲[1]乙[0]丙[3]丁[2]", 2) == "甲[1]乙丙丁[2]"
