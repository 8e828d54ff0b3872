"""Chinese text helpers shared by chunking, retrieval and answering: jieba words, normalisation.

jieba is wrapped: its default tokenizer is initialised on first use (loading its dictionary takes
about a second), with its logging silenced, and its part-of-speech tagger is the one `jieba.posseg`
builds when imported (a second tagger would hold a second 48 MB copy of the word-tag table).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

import jieba

# Words that carry no evidence for matching a question to a passage.
STOP_WORDS = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 并 其 之 这 那 有 为 以 于 被 把 对 从 到 由 上 中 下 个 "
    "吗 呢 吧 啊 么 什么 哪 哪些 哪个 哪里 哪儿 哪一年 谁 几 多少 怎么 怎样 如何 为什么 何 何时 "
    "是否 多 请问 一个 一些 这个 那个 这些 那些 我 你 他 她 它 我们 你们 他们 她们 它们 "
    "文中 本文 文章 提到 指出 表示 这次 此次 要 叫 叫做 做 该 其 此 现在 目前 当时 会 能 呢".split()
)
_WORDLIKE = re.compile(r"[\w\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def tokenizer() -> jieba.Tokenizer:
    """The process's jieba tokenizer, initialised once."""
    jieba.setLogLevel(logging.WARNING)
    jieba.dt.initialize()
    return jieba.dt


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # opencc-python-reimplemented: pure Python, ships its dictionaries

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _t2s_keys() -> tuple[frozenset[str], tuple[str, ...]]:
    """The characters t2s changes, and its phrase keys: text with none of them converts to itself."""
    from importlib.resources import files

    def entries(name: str) -> list[tuple[str, str]]:
        text = (files("opencc") / "dictionary" / name).read_text(encoding="utf-8")
        return [(key, value.split(" ")[0]) for key, _, value in (line.partition("\t") for line in text.splitlines())]

    changed = frozenset(key for key, value in entries("TSCharacters.txt") if key != value)
    return changed, tuple(key for key, _ in entries("TSPhrases.txt"))


def normalise(text: str) -> str:
    """Fold width variants (ＡＢＣ１２３ → abc123), Traditional → Simplified, lower case."""
    text = unicodedata.normalize("NFKC", text)
    changed, phrases = _t2s_keys()
    # OpenCC is slow: run it only where it can change something.
    if not changed.isdisjoint(text) or any(phrase in text for phrase in phrases):
        text = _t2s().convert(text)
    return text.lower()


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each jieba word of `text`, in order, covering it."""
    return [(start, end) for _, start, end in tokenizer().tokenize(text)]


def inside_number(text: str, at: int) -> bool:
    """True when text[at - 1] and text[at] belong to one number: "1,800", "60261.74" (the tokenizers
    cut these into several pieces, "1", ",", "800", and a cut between them reads a smaller number)."""
    if at <= 0 or at >= len(text):
        return False
    before, after = text[at - 1], text[at]
    if before.isdigit() and after.isdigit():
        return True
    return (before in ",." and after.isdigit() and at >= 2 and text[at - 2].isdigit()) or (
        after in ",." and before.isdigit() and at + 1 < len(text) and text[at + 1].isdigit())


def lexical_terms(text: str) -> list[str]:
    """Search-mode jieba terms of normalised text, without punctuation and stop words."""
    words = tokenizer().lcut_for_search(normalise(text))
    return [w for w in (w.strip() for w in words) if w and w not in STOP_WORDS and _WORDLIKE.search(w)]


# Words that only phrase a question ("…是怎么回事？", "…怎么样？"): the passage that answers it rarely
# holds them, so searches and answers leave them out. Chunks keep them (they are passages, not questions).
QUESTION_WORDS = frozenset("怎么回事 回事 怎么样 为何 啥".split())


@lru_cache(maxsize=1024)
def query_terms(query: str) -> tuple[str, ...]:
    """`lexical_terms` of a question but its question words, remembered: its search and its answer
    both need them."""
    return tuple(t for t in lexical_terms(query) if t not in QUESTION_WORDS)


@lru_cache(maxsize=1)
def _pos_tokenizer():
    import jieba.posseg

    tokenizer()  # initialised with its logging silenced
    return jieba.posseg.dt  # tags the words of `tokenizer()`


def tagged_words(text: str) -> list[tuple[str, str]]:
    """(word, jieba part-of-speech tag) of the text, in order."""
    return [(pair.word, pair.flag) for pair in _pos_tokenizer().lcut(text)]


def key_nouns(text: str) -> list[str]:
    """Names, places, organisations and other nouns of the text, in order (jieba part-of-speech tags)."""
    return [word for word, flag in tagged_words(text)
            if flag[:1] in ("n", "m") and word not in STOP_WORDS and _WORDLIKE.search(word)]
