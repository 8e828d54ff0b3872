"""The question-answering engine used by `qa ask`, the web chat and the evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .answer import Answer, answer_from_generation, answer_from_hits
from .config import MODES, Settings
from .embedding import Embedder, limit_threads, make_embedder
from .errors import QuestionError
from .followup import resolve_followup
from .index import Index, load_index, term_weights
from .llm import LLMConfig, LLMError, build_messages, stream_chat
from .retrieval import Hit, Retriever
from .text import lexical_terms

MAX_QUESTION_CHARS = 500
# Abstain when the best sentence covers less than this share of the question's IDF weight:
# the midpoint between answerable and unanswerable seed questions (docs/evaluation.md).
MIN_EVIDENCE = 0.26
LLM_SOURCES = 5
STREAM_PIECE = 8  # characters per streamed piece of an extractive answer


def check_question(question: str) -> str:
    """The question stripped, or QuestionError when it is empty or too long."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty: type a question, e.g. 大会设置了哪些实物交互体验展示区？")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(question)} characters long; ask in at most {MAX_QUESTION_CHARS}")
    return question


@dataclass
class Engine:
    """An index, its embedder and the answering settings, loaded once and asked many times."""

    index: Index
    retriever: Retriever
    settings: Settings
    llm: LLMConfig | None = None
    min_evidence: float = MIN_EVIDENCE

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> "Engine":
        """Load the index at settings.index_dir (checking the model, when one was asked for)."""
        limit_threads(settings.threads)
        index = load_index(settings.index_dir, model=settings.model)
        embedder = embedder or make_embedder(index.manifest["model"])
        return cls(index, Retriever(index, embedder), settings, LLMConfig.from_env())

    def search(self, question: str, history: list[str] | None = None, mode: str | None = None,
               k: int | None = None) -> tuple[str, list[Hit]]:
        """The query as searched (follow-ups resolved) and its hits."""
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise QuestionError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
        query = resolve_followup(check_question(question), list(history or []))
        return query, self.retriever.search(query, k or self.settings.top_k, mode)

    def extractive(self, question: str, query: str, hits: list[Hit]) -> Answer:
        """The offline answer: quoted sentences of the hits, or an abstention."""
        terms = lexical_terms(query)
        answer = answer_from_hits(query, hits, term_weights(self.index.bm25, terms), self.min_evidence)
        answer.question = question
        return answer

    def ask(self, question: str, history: list[str] | None = None, mode: str | None = None,
            k: int | None = None) -> Answer:
        """Answer a question (with the LLM when configured), every sentence cited."""
        *_, (_, answer) = self.stream(question, history, mode, k)
        return answer

    def stream(self, question: str, history: list[str] | None = None, mode: str | None = None,
               k: int | None = None) -> Iterator[tuple[str, Answer | None]]:
        """Yield (text so far, None) while the answer grows, then (final text, Answer)."""
        query, hits = self.search(question, history, mode, k)
        extractive = self.extractive(question, query, hits)
        if self.llm is None or extractive.abstained:
            for end in range(STREAM_PIECE, len(extractive.text), STREAM_PIECE):
                yield extractive.text[:end], None
            yield extractive.text, extractive
            return
        sources = [h.chunk for h in hits[:LLM_SOURCES]]
        text = ""
        try:
            for piece in stream_chat(self.llm, build_messages(query, sources)):
                text += piece
                yield text, None
            answer = answer_from_generation(question, text, hits[:LLM_SOURCES])
        except LLMError as error:
            extractive.notice = f"LLM unavailable ({error}); showing the extractive answer."
            yield extractive.text, extractive
            return
        if answer is None:
            extractive.notice = "the LLM answer cited no source; showing the extractive answer."
            yield extractive.text, extractive
            return
        yield answer.text, answer
