"""Chunking properties: exact offsets, coverage, size limit, whole jieba words, determinism."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest.chunking import sentence_spans, split_article
from qa.ingest.corpus import Article
from qa.ingest.text import word_spans

HARD_TEXTS = [
    "", "因", "I love你，不以为耻，反以为rong",
    "没有任何标点的一段很长的中文文字用来检验切分器在找不到句子边界时是否仍能在词语边界上切开" * 3,
    "中国共产党第二十届中央委员会第三次全体会议" * 250,  # one 5,000-character sentence
    "全角标点。半角标点.混用!还有？英文?以及；分号;省略……结束“引号。”（括号。）",
]
SIZES = [5, 20, 64, 160]

chinese = st.text(alphabet=st.sampled_from(list("中国新闻报道武汉大会工业互联网发展经济数字 。，！？\n“”abc123")),
                  max_size=400)


def _article(text: str) -> Article:
    return Article(id="t", title="测试", text=text)


def check_chunks(text: str, size: int, overlap: int = 1) -> None:
    article = _article(text)
    chunks = split_article(article, size, overlap)
    covered = set()
    for chunk in chunks:
        assert article.text[chunk.start:chunk.end] == chunk.text
        assert 0 < len(chunk.text) <= size
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    assert split_article(article, size, overlap) == chunks
    _assert_whole_words(text, chunks, size)


def _assert_whole_words(text: str, chunks, size: int) -> None:
    """A chunk edge inside a sentence falls on a jieba word boundary (unless one word exceeds the limit)."""
    for start, end in sentence_spans(text):
        boundaries = {start + s for s, _ in word_spans(text[start:end])} | {end}
        long_words = [(start + s, start + e) for s, e in word_spans(text[start:end]) if e - s > size]
        for chunk in chunks:
            for edge in (chunk.start, chunk.end):
                if start < edge < end and edge not in boundaries:
                    assert any(ws < edge < we for ws, we in long_words), (edge, text[start:end])


@settings(max_examples=150, deadline=None)
@given(text=chinese, size=st.sampled_from(SIZES), overlap=st.sampled_from([0, 1, 2]))
def test_chunk_properties(text: str, size: int, overlap: int) -> None:
    check_chunks(text, size, overlap)


def test_hard_inputs() -> None:
    for text in HARD_TEXTS:
        for size in SIZES:
            check_chunks(text, size)


def test_empty_and_single_character() -> None:
    assert split_article(_article(""), 10) == []
    [only] = split_article(_article("因"), 10)
    assert (only.text, only.start, only.end) == ("因", 0, 1)


def test_sentences_keep_their_closing_quotes() -> None:
    text = "他说：“会议很成功。”随后离开。"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["他说：“会议很成功。”", "随后离开。"]


def test_neighbouring_chunks_share_a_sentence(seed_articles) -> None:
    chunks = split_article(seed_articles[0], 160, 1)
    shared = sum(1 for a, b in zip(chunks, chunks[1:]) if b.start < a.end)
    assert shared >= len(chunks) // 2
    assert all(c.title == seed_articles[0].title and c.source == "中国网" for c in chunks)


def test_seed_chunks_keep_exact_offsets(seed_articles) -> None:
    for article in seed_articles:
        for chunk in split_article(article, 160, 1):
            assert article.text[chunk.start:chunk.end] == chunk.text


def test_a_byline_line_opening_the_article_is_in_no_chunk(seed_articles) -> None:
    """"中国网 11月19日 讯（记者 王瑞芳）" stays in the text (who reported it is asked) but is no
    passage; a lead that opens with a wire dateline is the lead, and its chunk starts at 0."""
    first = seed_articles[0]
    byline = "中国网 11月19日 讯（记者 王瑞芳）"
    chunks = split_article(first, 160, 1)
    assert first.text.startswith(byline + "\n") and chunks[0].start == len(byline) + 1
    assert chunks[0].text.startswith("11月19日，以“实数融合 智造翘楚”为主题")
    wire = _article("新华社北京10月24日电（记者 李明）记者24日从有关部门获悉，会议召开。")
    assert split_article(wire, 160, 1)[0].start == 0


def test_an_over_long_sentence_is_not_cut_inside_a_number() -> None:
    # a sentence of the news sample (172 characters, over the 160 of a chunk); jieba reads "1,800" as
    # "1", ",", "800", and the cut used to fall after "1,": the chunk read "800MB/s 的读取速度".
    sentence = ("IT之家附十铨推出新款 CFexpress Type B 存储卡介绍如下：T-CREATE EXPERT CFexpress Plus Type B "
                "存储卡及 T-CREATE EXPERT CFexpress Type B 存储卡皆采用 CFexpress 标准，拥有高达 1,700MB/s的写入速度"
                "和高达 1,800MB/s 的读取速度。")
    chunks = split_article(_article(sentence), 160, 1)
    assert len(chunks) == 2 and all(len(c.text) <= 160 for c in chunks)
    assert any("1,800MB/s" in c.text for c in chunks)
    assert not any(c.text.startswith(("800", ",800")) for c in chunks)
    # a number longer than a chunk is still cut, at its words
    digits = "总股本将增至" + "294,717,182," * 4 + "股。"
    check_chunks(digits, 20)
