"""The question-answering engine used by `qa ask`, the web chat and the evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from qa.answer.authorship import credited_stories, story_credit
from qa.answer.compose import (
    Answer,
    abstain,
    answer_from_generation,
    choose_sentences,
    compose,
)
from qa.answer.evidence import described, of_the_asked_time, one_per_story, with_lead
from qa.answer.llm import LLMConfig, LLMError, build_messages, stream_chat
from qa.answer.reader import BackgroundReader, reader_for
from qa.answer.scoring import Candidate, Scorer, features, folded, load_scorer
from qa.answer.span_answer import best_spans, read_answer
from qa.config import MODES, Settings
from qa.errors import QuestionError
from qa.index.embedding import Embedder, limit_threads, make_embedder
from qa.index.stores import Location, Store, location_for
from qa.ingest.byline import credit_question
from qa.ingest.text import query_terms
from qa.search.followup import focus_terms, in_conversation, read_after
from qa.search.question_time import (
    AskedTime,
    asked_time,
    published_day,
    time_match,
    without_years,
)
from qa.search.retrieval import CANDIDATES, Hit, Retriever, top_and_each_sides_best

MAX_QUESTION_CHARS = 500
# An elliptic follow-up is answered only if a sentence naming what it asks about is itself a
# likely answer (the scorer's sentence probability): "那武汉呢？" after a question on Hubei's
# growth finds Wuhan only in a sentence about another figure (p ≈ 0.12); "那中国移动呢？" after
# one on China Telecom's speaker finds the speaker (p ≈ 0.9).
FOCUSED_MIN_PROBABILITY = 0.3
LLM_SOURCES = 5
LATEST_POOL = 3  # "最新…": the newest of this many best hits is the one to answer from
# A question about a period reorders only this many best hits by time: a prior, not a filter. On
# ChronoQA questions 1-800 (docs/evaluation.md) reordering all 50 candidates lost 2.5 points of
# recall@1 on implicit questions (deep passages that merely name the date jumped ahead); the best
# 5 gained 5 points on explicit ones for 0.5 lost on implicit ones.
TIME_WINDOW = 5
STREAM_PIECE = 8  # characters per streamed piece of an extractive answer


def newest_of(answer: Answer) -> str:
    """When the quoted reports were published on different days (a figure revised, a later report),
    a notice saying which is the newest; "" otherwise."""
    days = {c.n: c.date[:10] for c in answer.citations if published_day(c.date)}
    if len(set(days.values())) < 2:
        return ""
    newest = max(days, key=lambda n: (days[n], -n))
    return f"引用的报道发布于不同日期，最新的是 [{newest}]（{days[newest]}）。"


def check_question(question: str) -> str:
    """The question stripped, or QuestionError when it is empty or too long."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty: type a question, e.g. 大会设置了哪些实物交互体验展示区？",
                            zh="问题为空：请输入一个问题。")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(question)} characters long; ask in at most {MAX_QUESTION_CHARS}",
                            zh=f"问题太长（{len(question)} 字）：请缩短到 {MAX_QUESTION_CHARS} 字以内再问。")
    return question


@dataclass(frozen=True)
class Engine:
    """A store, its embedder and the answering settings, opened once and asked many times."""

    store: Store
    retriever: Retriever
    settings: Settings
    scorer: Scorer
    llm: LLMConfig | None = None
    time_aware: bool = True  # False: the pipeline without time handling (for `qa eval --no-time`)
    reader: BackgroundReader | None = None  # None: the answer step without the reader (`--no-reader`)

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None, scorer: Scorer | None = None,
             location: Location | None = None, reuse: Store | None = None,
             reader: BackgroundReader | None = None, time_aware: bool = True) -> Engine:
        """Open the store the settings name (checking the model, when one was asked for), the
        answer scorer (the shipped one unless given), the reader (loading in the background,
        unless given or turned off) and the LLM the settings name; `reuse` lends what an earlier
        store loaded. The engine is composed here once: nothing is set on it afterwards."""
        limit_threads(settings.threads)
        store = (location or location_for(settings)).open(model=settings.model, reuse=reuse)
        embedder = embedder or make_embedder(store.manifest.model)
        return cls(store, Retriever(store, embedder), settings, scorer or load_scorer(), settings.llm,
                   time_aware=time_aware, reader=reader or reader_for(settings))

    def asked(self, query: str, as_of: date | None = None) -> AskedTime:
        """The periods the query asks about, as of `as_of` (today when not given)."""
        return asked_time(query, as_of or date.today()) if self.time_aware else AskedTime()

    def search(self, question: str, history: list[str] | None = None, mode: str | None = None,
               k: int | None = None, as_of: date | None = None) -> tuple[str, list[Hit]]:
        """The query as searched (follow-ups resolved) and its k hits, with each side's best after them
        (`retrieval.top_and_each_sides_best`); passages of the period the question asks about come first ("2023年…"),
        the newest report first for "最新…"."""
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise QuestionError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
        history = list(history or [])
        searched, query = in_conversation(check_question(question), history, self.retriever.finds_alone)
        k = k or self.settings.top_k
        asked = self.asked(query, as_of)
        if not asked:
            return query, self.retriever.search(searched, k, mode)
        hits = self.retriever.search(searched, max(k, CANDIDATES), mode)
        if asked.periods:
            head = sorted(hits[:TIME_WINDOW], key=lambda h: -time_match(asked, h.chunk.date, h.chunk.text))  # stable
            hits = head + hits[TIME_WINDOW:]
        else:
            pool = sorted(hits[:LATEST_POOL], key=lambda h: published_day(h.chunk.date) or date.min, reverse=True)
            hits = pool + hits[LATEST_POOL:]
        return query, top_and_each_sides_best(hits, k)

    def candidates(self, query: str, hits: list[Hit]) -> tuple[list[Candidate], np.ndarray, dict[str, float]]:
        """The sentences of the hits, their feature table and the query terms' weights."""
        weights = self.store.term_weights(list(query_terms(query)))
        candidates, table = features(query, self.retriever.query_vector(query), self.store, hits, weights)
        return candidates, table, weights

    def rank(self, query: str, hits: list[Hit], focus: list[str] | None = None
             ) -> tuple[list[Candidate], float, dict[str, float]]:
        """The sentences of the hits (only those naming every `focus` term, when given), best first,
        scored by the learned scorer; the probability that they answer the query; the term weights."""
        candidates, table, weights = self.candidates(query, hits)
        if focus:
            kept = [i for i, c in enumerate(candidates) if all(term in folded(c.text) for term in focus)]
            candidates, table = [candidates[i] for i in kept], table[kept]
        probs, answerable = self.scorer.judge(table)
        scored = [replace(c, score=float(p)) for c, p in zip(candidates, probs)]
        return sorted(scored, key=lambda c: (-c.score, c.key)), answerable, weights

    def extractive(self, question: str, query: str, hits: list[Hit], as_of: date | None = None,
                   history: list[str] | None = None) -> Answer:
        """The offline answer: the sentence that holds the reader's span (led by the span when the
        reader is sure), or without the reader the sentences the scorer ranks best; or an abstention,
        when the sentence scorer finds the hits off the question's subject or the reader finds no
        span that beats "no answer". An elliptic follow-up ("那武汉呢？") is answered only when
        sentences that name what it asks about answer it. A question about a period is answered from
        passages of that period only (or of the newest report, for "最新…"). A question about bylines
        is answered from them (`credit`). A follow-up (asked after `history`) is read as the reader's
        weights were trained to read it (`Thresholds.followups`)."""
        credited = self.credit(question, query, hits, as_of)
        if credited is not None:
            return credited
        hits = with_lead(self.store, self.quotable(query, hits, as_of))
        focus = focus_terms(question) if query != question else []
        ranked, answerable, weights = self.rank(query, hits, focus)
        if focus and ranked and ranked[0].score < FOCUSED_MIN_PROBABILITY:
            answerable = 0.0  # the sentences that name it do not answer the rewritten question
        # The reader gives one span: a question about two periods ("2022年和2024年…") is answered by the
        # scorer's sentences, one per report.
        asked = self.asked(query, as_of)
        reader = self.reader.get() if self.reader and len(asked.periods) < 2 else None
        if not ranked or answerable < self.scorer.abstain_below:
            answer = abstain(question, hits)  # off the articles' subject: the sentence scorer refuses first
        elif reader is not None:
            # Reports published in the asked year say "今年": the year was matched by their dates already.
            published_in = asked.periods and all(time_match(asked, h.chunk.date, h.chunk.text) == 2 for h in hits)
            read = self.reading(question, query, history or [])
            read = without_years(read) if published_in else read
            answer = read_answer(question, best_spans(reader, read, hits), hits, self.reader.thresholds)
        else:
            answer = compose(question, choose_sentences(ranked, self.scorer.keep_ratio, weights))
        if not answer.abstained:
            answer.citations = described(self.store, answer.citations)
            answer.notice = newest_of(answer)
        answer.question = question
        return answer

    def reading(self, question: str, query: str, history: list[str]) -> str:
        """What the reader reads for a question searched as `query` after `history`."""
        if self.reader is not None and self.reader.thresholds.followups == "joined":
            return read_after(question, query, history)
        return query

    def credit(self, question: str, query: str, hits: list[Hit], as_of: date | None = None) -> Answer | None:
        """The answer to a question about bylines (qa/answer/authorship.py): who reported or which outlet ran
        the story it names, or what the reporter or outlet it names published; None for any other."""
        asked = credit_question(query)
        if asked is None:
            return None
        if asked.name:
            answer = credited_stories(self.store, question, asked)
        else:
            quotable = with_lead(self.store, self.quotable(query, hits, as_of))
            answer = story_credit(self.store, question, query, quotable, asked)
        if answer is not None:
            answer.citations = described(self.store, answer.citations)
        return answer

    def quotable(self, query: str, hits: list[Hit], as_of: date | None = None) -> list[Hit]:
        """The hits an answer (extractive or the LLM's) may draw on: of the asked period, one copy
        of each story."""
        return one_per_story(self.store, of_the_asked_time(hits, self.asked(query, as_of)))

    def ask(self, question: str, history: list[str] | None = None, mode: str | None = None,
            k: int | None = None, as_of: date | None = None) -> Answer:
        """Answer a question (with the LLM when configured), every sentence cited; time in the
        question ("去年", "最新") is read as of `as_of` (today when not given)."""
        *_, (_, answer) = self.stream(question, history, mode, k, as_of)
        return answer

    def stream(self, question: str, history: list[str] | None = None, mode: str | None = None,
               k: int | None = None, as_of: date | None = None) -> Iterator[tuple[str, Answer | None]]:
        """Yield (text so far, None) while the answer grows, then (final text, Answer)."""
        query, hits = self.search(question, history, mode, k, as_of)
        credited = self.credit(question, query, hits, as_of)
        extractive = credited if credited is not None else self.extractive(question, query, hits, as_of, history)
        if self.llm is None or extractive.abstained or credited is not None:  # a byline is quoted as it stands
            for end in range(STREAM_PIECE, len(extractive.text), STREAM_PIECE):
                yield extractive.text[:end], None
            yield extractive.text, extractive
            return
        hits = self.quotable(query, hits, as_of)
        sources = [h.chunk for h in hits[:LLM_SOURCES]]
        text = ""
        try:
            for piece in stream_chat(self.llm, build_messages(query, sources)):
                text += piece
                yield text, None
            answer = answer_from_generation(question, text, hits[:LLM_SOURCES])
            if answer is not None:
                answer.citations = described(self.store, answer.citations)
        except LLMError as error:
            extractive.notice = f"大模型暂不可用（{error}），以下是从资料中摘录的答案。"
            yield extractive.text, extractive
            return
        if answer is None:
            extractive.notice = "大模型的回答没有引用来源，以下是从资料中摘录的答案。"
            yield extractive.text, extractive
            return
        yield answer.text, answer
