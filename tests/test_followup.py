"""Follow-up questions: elliptic and pronoun questions rewritten to stand alone; what they ask about."""

from __future__ import annotations

import pytest

from qa.followup import focus_terms, needs_context, resolve_followup


@pytest.mark.parametrize("question, earlier, expected", [
    ("那武汉呢？", "湖北前三季度经济增长多少？", "武汉前三季度经济增长多少？"),
    ("那江西呢？", "湖北省长是谁？", "江西省长是谁？"),
    ("那2022年呢？", "2023年江西中欧班列开行了多少列？", "2022年江西中欧班列开行了多少列？"),
    ("那中国移动呢？", "中国电信是谁在开幕式上演讲？", "中国移动是谁在开幕式上演讲？"),
    ("他现在担任什么职务？", "盛阅春在大会上介绍了什么？", "盛阅春现在担任什么职务？"),
])
def test_follow_ups_are_rewritten_to_stand_alone(question, earlier, expected):
    assert needs_context(question)
    assert resolve_followup(question, [earlier]) == expected


def test_a_short_question_carries_the_earlier_nouns():
    resolved = resolve_followup("后来呢？", ["大会在哪一天开幕？"])
    assert "大会" in resolved and resolved.endswith("后来呢？")


def test_standalone_questions_and_first_questions_are_kept():
    question = "中欧班列这次装载的货物要运往哪个国家？"
    assert resolve_followup(question, ["盛阅春在大会上介绍了什么？"]) == question
    assert resolve_followup("那武汉呢？", []) == "那武汉呢？"


def test_focus_of_an_elliptic_follow_up():
    assert focus_terms("那武汉呢？") == ["武汉"]
    assert focus_terms("那2022年呢？") == ["2022年"]
    assert focus_terms("后来呢？") == []  # a relative time names nothing to look for
    assert focus_terms("他现在担任什么职务？") == []
