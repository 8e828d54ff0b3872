"""Retrieval and answer evaluation on SQuAD-style sets (CMRC 2018, DRCD), ChronoQA (time-aware news
questions, .csv) or JSONL question files.

The shape follows sentence-transformers' IR evaluator: questions with their relevant passage,
a corpus of passages, metrics by rank. The datasets are read by `qa.eval.datasets`, the metrics
computed by `qa.eval.metrics`; here every question is searched and answered as `qa ask` does. Nothing
here prints; the CLI shows the results.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

from qa.answer.compose import Answer, strip_markers
from qa.answer.engine import Engine
from qa.answer.scoring import Scorer
from qa.config import DEFAULT_MODEL, Settings
from qa.eval.datasets import Dataset
from qa.eval.metrics import RANK_DEPTH, by_facet, first_rank, summarise
from qa.index.build import build, index_is_current
from qa.index.embedding import make_embedder
from qa.index.incremental import build_index
from qa.index.stores import FORMAT_VERSION, Location
from qa.search.question_time import parse_as_of
from qa.search.retrieval import Hit, top_and_each_sides_best

CACHE_NAMING = 2  # part of the cache folders' names (fixed: a build upgrades an older index in place)
CHUNK_DEPTH = 50  # chunks retrieved to find the RANK_DEPTH articles ranked per question
QUERY_BATCH = 64


def index_cache_key(dataset: Dataset, model: str, chunk_size: int, chunk_overlap: int) -> str:
    """Name of the cached index of a SQuAD dataset: its content, the model and the chunking."""
    raw = f"{dataset.content_key()}|{model}|{chunk_size}|{chunk_overlap}|{CACHE_NAMING}"
    return f"{dataset.name}-{hashlib.sha1(raw.encode()).hexdigest()[:12]}"


def _gold_key(dataset: Dataset, hit) -> str:
    return hit.chunk.article_id if dataset.gold_is == "article_id" else hit.chunk.title


def without_gold(dataset: Dataset, hits: list[Hit], gold: str | tuple[str, ...], k: int) -> list[Hit]:
    """The first k hits that are not from a gold passage (and each side's best of them, as
    `retrieval.top_and_each_sides_best`): what a corpus without them would return."""
    golds = (gold,) if isinstance(gold, str) else gold
    return top_and_each_sides_best([h for h in hits if _gold_key(dataset, h) not in golds], k)


def shown_answer(answer: Answer) -> str:
    """The answer's quoted text ('' for an abstention)."""
    return strip_markers(answer.text) if not answer.abstained else ""


def evaluate_mode(engine: Engine, dataset: Dataset, mode: str, ks: list[int],
                  tick: Callable[[], object] | None = None, as_of: date | None = None
                  ) -> tuple[dict, list[dict], dict[str, dict]]:
    """Metrics of one retrieval mode, the per-question rows that missed, and the metrics per facet
    value (ChronoQA's temporal types). Questions are searched and answered exactly as `qa ask` does
    (the first top_k hits of the same fused lists and each side's best), each as of its own date when
    it has one, else `as_of`."""
    started = time.perf_counter()
    rows, misses = [], []
    top_k = engine.settings.top_k
    for question in dataset.questions:
        when = parse_as_of(question.as_of) if question.as_of else as_of
        query, hits = engine.search(question.question, list(question.history), mode=mode, k=CHUNK_DEPTH, as_of=when)
        ranked = list(dict.fromkeys(_gold_key(dataset, h) for h in hits))[:RANK_DEPTH]
        answer = engine.extractive(question.question, query, top_and_each_sides_best(hits, top_k), as_of=when,
                                   history=list(question.history))
        shown = shown_answer(answer)
        answer_rank = next((i for i, h in enumerate(hits, start=1)
                            if any(a in h.chunk.text for a in question.answers)), None)
        removed = None
        if question.gold is not None:
            removed = engine.extractive(question.question, query, without_gold(dataset, hits, question.golds, top_k),
                                        as_of=when, history=list(question.history))
        row = {"id": question.id, "mode": mode, "question": question.question, "gold": question.gold,
               "answers": list(question.answers), "answerable": question.gold is not None,
               "groups": dict(question.groups),
               "rank": first_rank(question.golds, ranked) if question.gold else None,
               "answer_rank": answer_rank, "answer": answer.text, "abstained": answer.abstained,
               "answer_hit": any(a in shown for a in question.answers), "chars": len(strip_markers(answer.text)),
               "short": answer.short if not answer.abstained else "",
               "gold_removed_abstain": removed is not None and (
                   removed.abstained or any(a in shown_answer(removed) for a in question.answers))}
        rows.append(row)
        if row["answerable"] != (not row["abstained"]) or (row["answerable"] and (row["rank"] != 1
                                                                                  or not row["answer_hit"])):
            misses.append(row)
        if tick:
            tick()
    return summarise(rows, ks, time.perf_counter() - started), misses, by_facet(rows, ks)


def embed_questions(engine: Engine, dataset: Dataset, tick: Callable[[int], None] | None = None) -> None:
    """Encode every question once, in batches, for the dense side of all modes."""
    texts = list(dict.fromkeys(q.question for q in dataset.questions))
    vectors = {}
    for at in range(0, len(texts), QUERY_BATCH):
        batch = texts[at: at + QUERY_BATCH]
        vectors.update(zip(batch, engine.retriever.embedder.encode_queries(batch)))
        if tick:
            tick(len(batch))
    engine.retriever.remember(vectors)


def open_engine(dataset: Dataset, settings: Settings, cache_dir: Path, use_corpus: bool,
                scorer: Scorer | None = None, time_aware: bool = True) -> Engine:
    """An engine for the dataset: over its own passages (SQuAD), over settings.corpus, or over settings.index_dir.

    Indexes of passages and corpora are cached under cache_dir, keyed by content, model and chunking.
    """
    model = settings.model or DEFAULT_MODEL
    if dataset.articles:
        directory = Path(cache_dir) / index_cache_key(dataset, model, settings.chunk_size, settings.chunk_overlap)
        manifest = Location(directory).manifest()
        # none yet, or of an older format: built (an older one lends its vectors)
        if manifest is None or manifest.format != FORMAT_VERSION:
            build_index(dataset.articles, directory, make_embedder(model), settings.chunk_size,
                        settings.chunk_overlap, extra_manifest={"dataset": dataset.name})
        settings = replace(settings, index_dir=directory)
    elif use_corpus:
        key = hashlib.sha1("|".join(str(p.resolve()) for p in settings.corpus).encode()).hexdigest()[:12]
        settings = replace(settings, index_dir=Path(cache_dir) / f"corpus-{key}")
        if not index_is_current(settings):
            build(settings)
    engine = Engine.open(replace(settings, llm=None), scorer=scorer, time_aware=time_aware)  # offline pipeline
    if engine.reader:
        engine.reader.wait()  # every question is answered by the reader, not only those after it loads
    return engine
