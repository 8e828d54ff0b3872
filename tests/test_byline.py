"""Questions about bylines, both ways: who reported a story or which outlet ran it, and what a named
reporter or outlet published; and the byline read from a story's opening."""

from __future__ import annotations

import pytest

from qa.ingest.byline import (
    byline_length,
    credit_question,
    looks_like_outlet,
    looks_like_person,
    story_terms,
)
from qa.ingest.corpus import make_article


@pytest.mark.parametrize("question, name", [
    ("王瑞芳写了哪篇报道？", "王瑞芳"),
    ("罗志雄报道了什么？", "罗志雄"),
    ("王瑞芳都写过什么？", "王瑞芳"),
    ("记者李明写了哪些稿子？", "李明"),
    ("有没有罗志雄写的报道？", "罗志雄"),
    ("中国网发了哪些新闻？", "中国网"),
    ("中国新报发的报道有哪些？", "中国新报"),
])
def test_a_question_naming_a_reporter_or_outlet_asks_for_their_stories(question, name):
    asked = credit_question(question)
    assert asked is not None and (asked.asks, asked.name, asked.surely_a_byline) == ("published", name, True)


@pytest.mark.parametrize("question", ["华为发布了什么新闻？", "李彦宏发布了什么？", "大会发布了什么？"])
def test_someone_who_may_be_announcing_news_is_not_surely_a_byline(question):
    """"华为发布了什么新闻？" asks what Huawei announced: answered from the text when no outlet is called 华为."""
    asked = credit_question(question)
    assert asked is not None and asked.asks == "published" and not asked.surely_a_byline


@pytest.mark.parametrize("question, asks", [
    ("这篇关于工业互联网大会的稿子是哪个记者写的？", "reporter"),
    ("洪桥街道那条消息是谁报道的？", "reporter"),
    ("这篇报道的作者是谁？", "reporter"),
    ("中欧班列那篇是哪家媒体发的？", "outlet"),
    ("哪家媒体报道了中欧班列？", "outlet"),
    ("这条新闻的来源是哪里？", "outlet"),
    ("那篇是谁发的？", "outlet"),
    ("这篇文章是哪家媒体发的？", "outlet"),
])
def test_a_question_about_the_story_it_names_asks_for_its_reporter_or_outlet(question, asks):
    asked = credit_question(question)
    assert asked is not None and (asked.asks, asked.name) == (asks, "")


@pytest.mark.parametrize("question", [
    "《张居正》的作者是谁？",  # a book's author
    "降息的消息是谁发布的？",  # who announced it, not who printed the news
    "报道提到的资金来源是什么？",
    "王忠林在信中写了什么？",
    "工业和信息化部发布了什么名单？",
    "大会设置了哪些实物交互体验展示区？",
    "湖北省长是谁？",
    # an article someone in the news wrote, which the story reports: not the story's own outlet
    "桑德斯批美国医疗体系的文章发在哪个网站？",
    "章家敦那篇说中国把美国赶出中东的文章，登在哪家媒体上？",
])
def test_other_questions_are_not_about_bylines(question):
    assert credit_question(question) is None


def test_the_words_naming_the_story_are_kept_and_the_asking_words_dropped():
    assert story_terms("中欧班列那篇是哪家媒体发的？") == ["中欧", "班列"]
    assert story_terms("哪家媒体报道了中欧班列？") == ["中欧", "班列"]
    assert set(story_terms("这篇关于工业互联网大会的稿子是哪个记者写的？")) == {"工业", "互联", "联网", "互联网", "大会"}
    assert story_terms("这篇报道的作者是谁？") == []


def test_names_that_read_as_people_or_outlets():
    assert all(looks_like_person(n) for n in ("王瑞芳", "罗志雄", "张三", "刘仲华"))
    assert not any(looks_like_person(n) for n in ("大会", "信中", "中国网"))
    assert all(looks_like_outlet(n) for n in ("中国网", "中国新报", "新华社", "湖北日报", "央视网"))
    assert not any(looks_like_outlet(n) for n in ("王瑞芳", "华为"))


@pytest.mark.parametrize("body, source, reporters, byline", [
    ("中国网 11月19日\n讯（记者 王瑞芳）\n11月19日，大会在武汉开幕。", "中国网", ("王瑞芳",), "中国网 11月19日 讯（记者 王瑞芳）"),
    ("中国新报讯（罗志雄）\n11月18日，洪桥街道召开推进会。", "中国新报", ("罗志雄",), "中国新报讯（罗志雄）"),
    ("人民网柏林7月28日电 （记者刘仲华、张慧中）德国联邦统计局28日公布数据。", "人民网", ("刘仲华", "张慧中"),
     "人民网柏林7月28日电 （记者刘仲华、张慧中）"),
    ("当日，X8208次中欧班列从江西赣州国际陆港驶出。", "", (), ""),
])
def test_an_article_keeps_its_outlet_and_reporters_and_its_text_opens_with_the_byline(body, source, reporters, byline):
    article = make_article("seeds/x.md", "标题", body)
    assert (article.source, article.reporters) == (source, reporters)
    assert article.text[: byline_length(article.text.split("\n")[0])] == byline
