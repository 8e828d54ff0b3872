"""Retrieval and answer evaluation on SQuAD-style sets (CMRC 2018, DRCD), ChronoQA (time-aware news
questions, .csv) or JSONL question files.

The shape follows sentence-transformers' IR evaluator: questions with their relevant passage,
a corpus of passages, metrics by rank. Nothing here prints; the CLI shows the results.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import math
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from qa.answer.compose import Answer, strip_markers
from qa.index.build import build, index_is_current
from qa.ingest.corpus import Article, article_id, make_article, with_file_years
from qa.config import DEFAULT_MODEL, Settings
from qa.index.embedding import make_embedder
from qa.answer.engine import Engine
from qa.errors import DatasetError
from qa.index.incremental import build_index
from qa.eval.news_qa import NEWS_SAMPLE, is_label_record, load_news, load_records, text_sha1
from qa.index.stores import Location
from qa.search.question_time import parse_as_of
from qa.search.retrieval import Hit, first
from qa.answer.scoring import Scorer

CACHE_NAMING = 2  # part of the cache folders' names (fixed: a build upgrades an older index in place)
RANK_DEPTH = 10  # articles ranked per question for mrr@10 / ndcg@10
CHUNK_DEPTH = 50  # chunks retrieved to find those articles
QUERY_BATCH = 64


@dataclass(frozen=True)
class EvalQuestion:
    """A question, its gold answer strings and its gold passage (None: the corpus cannot answer it)."""

    id: str
    question: str
    answers: tuple[str, ...]
    gold: str | None  # an article id (SQuAD sets) or an article title (JSONL sets)
    history: tuple[str, ...] = ()  # earlier questions of the conversation, for follow-ups
    also_gold: tuple[str, ...] = ()  # further passages that answer it (ChronoQA: up to 5)
    as_of: str = ""  # when it is asked (YYYY-MM-DD); "" = the evaluation's --as-of
    groups: tuple[tuple[str, str], ...] = ()  # (facet, value) pairs its metrics are also reported under

    @property
    def golds(self) -> tuple[str, ...]:
        return ((self.gold,) if self.gold is not None else ()) + self.also_gold


@dataclass
class Dataset:
    """Questions, and for SQuAD sets the passages to index; `gold_is` says what `gold` names."""

    name: str
    questions: list[EvalQuestion]
    articles: list[Article] = field(default_factory=list)
    gold_is: str = "article_id"  # or "title"
    skipped: list[str] = field(default_factory=list)  # rows that could not be asked, with the reason

    def content_key(self) -> str:
        """A hash of the passages, to cache the dataset's index."""
        digest = hashlib.sha1()
        for article in self.articles:
            digest.update(f"{article.id}\0{article.title}\0{article.text}\n".encode("utf-8"))
        return digest.hexdigest()


def load_squad(path: Path) -> Dataset:
    """A SQuAD-format file: every unique context becomes an article titled by its article's title."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"{path}: not a readable SQuAD-format JSON file ({error})") from error
    articles: dict[str, Article] = {}
    questions, skipped = [], []
    for entry in data:
        for paragraph in entry["paragraphs"]:
            context = paragraph["context"]
            key = article_id(Path(path).name, context[:200] + str(len(context)))
            if key not in articles:
                articles[key] = Article(id=key, title=entry.get("title", ""), text=context,
                                        path=str(paragraph.get("id", "")))
            for qa in paragraph["qas"]:
                if not str(qa.get("question") or "").strip():
                    skipped.append(f"{qa.get('id')}: empty question")
                    continue
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", []) if a.get("text")))
                questions.append(EvalQuestion(str(qa["id"]), qa["question"], answers, key if answers else None))
    return Dataset(Path(path).stem, questions, list(articles.values()), "article_id", skipped)


def load_question_jsonl(path: Path) -> Dataset:
    """JSONL questions against a corpus: {"id", "question", "answers", "title"} per line."""
    questions, skipped = [], []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: cannot read it as UTF-8 text ({error})") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not str(record["question"] or "").strip():
                skipped.append(f"line {number}: empty question")
                continue
            questions.append(EvalQuestion(str(record.get("id", number)), record["question"],
                                          tuple(record.get("answers") or ()), record.get("title"),
                                          tuple(record.get("history") or ())))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise DatasetError(f"{path}:{number}: malformed question line ({error}); expected "
                               '{"id", "question", "answers": [...], "title": ... or null, "history": [...]}') from error
    if not questions:
        raise DatasetError(f"{path}: no questions found")
    return Dataset(Path(path).stem, questions, [], "title", skipped)


NEWS_QA_AS_OF = "2023-09-01"  # the labeled news questions are asked as of this day
NEWS_SAMPLE_YEAR = 2023  # the news sample's feed is of 2023: the year of its dates that lack one
NEWS_QA_FACETS = ("kind", "near_miss")


def load_news_qa(path: Path, news_path: Path = NEWS_SAMPLE) -> Dataset:
    """The labeled news questions (data/news_qa/): the questions of `path` against every article
    that the label files beside it name (train and dev), as read from the news sample, as of
    2023-09-01; metrics also per `kind` and per `near_miss`."""
    path = Path(path)
    if not Path(news_path).is_file():
        raise DatasetError(f"{path}: its articles are lines of the news sample, not found at {news_path} "
                           "(the data folder ../shared/data/ beside the project)")
    news = load_news(news_path)
    labeled = sorted({r["article"] for sibling in sorted(path.parent.glob("*.jsonl"))
                      for r in load_records(sibling) if is_label_record(r)})
    ids, articles = {}, []
    for line in labeled:
        row = news[line]
        article = make_article("news_qa", "", row["text"], date=row.get("date") or "", ordinal=line + 1)
        if article:
            ids[line] = article.id
            articles.append(article)
    questions = []
    for record in load_records(path):
        if text_sha1(news[record["article"]]["text"]) != record["text_sha1"]:
            raise DatasetError(f"{path}: {record['id']} was written for another text of line {record['article']} "
                               "(text_sha1 differs): the news sample has changed")
        groups = (("kind", record["kind"]), ("near_miss", record["near_miss"] or "answerable"))
        questions.append(EvalQuestion(record["id"], record["question"], tuple(record["answers"]),
                                      ids[record["article"]] if record["answers"] else None,
                                      tuple(record["history"]), as_of=NEWS_QA_AS_OF, groups=groups))
    return Dataset(path.stem, questions, with_file_years(articles, NEWS_SAMPLE_YEAR), "article_id")


CHRONOQA_FACETS = ("temporal_expression_type", "temporal_granularity")


def load_chronoqa(path: Path, limit: int | None = None) -> Dataset:
    """ChronoQA: its golden chunks are the passages, each question is asked as of its
    `question_date`, its answer counts only where it occurs word for word in a gold chunk.
    With `limit`, the first questions and only their chunks."""
    try:
        with Path(path).open(encoding="utf-8", newline="") as rows:
            records = list(csv.DictReader(rows))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"{path}: not a readable ChronoQA CSV file ({error})") from error
    articles: dict[str, Article] = {}
    questions, skipped = [], []
    for number, record in enumerate(records[:limit] if limit else records, start=2):
        try:
            chunks = ast.literal_eval(record["golden_chunks"])
            question, answer = record["question"].strip(), str(record["answer"]).strip()
            if not isinstance(chunks, list) or not all(isinstance(c, str) for c in chunks):
                raise ValueError("golden_chunks is not a list of strings")
        except (KeyError, ValueError, SyntaxError) as error:
            raise DatasetError(f"{path}:{number}: malformed ChronoQA row ({error})") from error
        if not question or not chunks:
            skipped.append(f"row {number}: empty question or no golden chunk")
            continue
        ids = []
        for text in chunks:
            key = article_id("chronoqa", text)
            articles.setdefault(key, Article(id=key, title="", text=text, path="chronoqa"))
            ids.append(key)
        answers = (answer,) if answer and any(answer in c for c in chunks) else ()
        groups = tuple((facet, record.get(facet, "")) for facet in CHRONOQA_FACETS if record.get(facet))
        questions.append(EvalQuestion(str(record.get("", number)), question, answers, ids[0],
                                      also_gold=tuple(ids[1:]), as_of=record.get("question_date", ""), groups=groups))
    return Dataset(Path(path).stem, questions, list(articles.values()), "article_id", skipped)


def load_dataset(path: Path, limit: int | None = None) -> Dataset:
    """A dataset by its file type: .json (SQuAD), .csv (ChronoQA) or .jsonl (questions). `limit`
    keeps the first questions (for ChronoQA, also only their passages)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"dataset not found at {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return load_chronoqa(path, limit)
    if suffix == ".jsonl" and is_label_file(path):
        data = load_news_qa(path)
    else:
        data = load_question_jsonl(path) if suffix == ".jsonl" else load_squad(path)
    if limit:
        data.questions = data.questions[:limit]
    return data


def is_label_file(path: Path) -> bool:
    """Whether a .jsonl file holds labeled news questions (its first record names an article)."""
    try:
        with Path(path).open(encoding="utf-8") as lines:
            first = next((line for line in lines if line.strip()), "")
        return is_label_record(json.loads(first)) if first else False
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def index_cache_key(dataset: Dataset, model: str, chunk_size: int, chunk_overlap: int) -> str:
    """Name of the cached index of a SQuAD dataset: its content, the model and the chunking."""
    raw = f"{dataset.content_key()}|{model}|{chunk_size}|{chunk_overlap}|{CACHE_NAMING}"
    return f"{dataset.name}-{hashlib.sha1(raw.encode()).hexdigest()[:12]}"


def first_rank(gold: str | tuple[str, ...], ranked: list[str]) -> int | None:
    """1-based rank of the (first of the) gold item(s) in the list, or None."""
    golds = (gold,) if isinstance(gold, str) else gold
    return next((rank for rank, item in enumerate(ranked, start=1) if item in golds), None)


def ndcg_single(rank: int | None, cutoff: int = RANK_DEPTH) -> float:
    """nDCG@cutoff with one relevant item: 1/log2(rank+1) (the ideal DCG is 1)."""
    return 1.0 / math.log2(rank + 1) if rank and rank <= cutoff else 0.0


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")


def summarise(rows: list[dict], ks: list[int], seconds: float) -> dict:
    """Metrics over per-question rows (each with rank, answer_rank, answer_hit, chars, abstained,
    answerable, and for answerable rows gold_removed_abstain)."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    with_answers = [r for r in answerable if r.get("answers", True)]  # ChronoQA: only answers found word for word
    metrics: dict[str, float] = {}
    for k in ks:
        metrics[f"recall@{k}"] = _mean([1.0 if r["rank"] and r["rank"] <= k else 0.0 for r in answerable])
    metrics["mrr@10"] = _mean([1.0 / r["rank"] if r["rank"] and r["rank"] <= 10 else 0.0 for r in answerable])
    metrics["ndcg@10"] = _mean([ndcg_single(r["rank"]) for r in answerable])
    for k in ks:
        metrics[f"answer@{k}"] = _mean([1.0 if r["answer_rank"] and r["answer_rank"] <= k else 0.0
                                        for r in with_answers])
    metrics["answer_hit"] = _mean([1.0 if r["answer_hit"] else 0.0 for r in with_answers])
    metrics["answer_chars"] = round(_mean([r["chars"] for r in rows if not r["abstained"]]), 1)  # answers only
    metrics["false_abstain_rate"] = _mean([1.0 if r["abstained"] else 0.0 for r in answerable])
    # Asked again without its gold passage: it should abstain (or answer from another passage that
    # also holds a gold answer).
    metrics["gold_removed_abstain"] = _mean([1.0 if r["gold_removed_abstain"] else 0.0 for r in answerable])
    if any(r.get("short") for r in rows):  # the reader's short answers, SQuAD-style (abstaining scores 0)
        metrics["short_em"] = _mean([max((exact_match(r["short"], a) for a in r["answers"]), default=0.0)
                                     for r in with_answers])
        metrics["short_f1"] = _mean([max((char_f1(r["short"], a) for a in r["answers"]), default=0.0)
                                     for r in with_answers])
    if unanswerable:
        metrics["abstain_rate"] = _mean([1.0 if r["abstained"] else 0.0 for r in unanswerable])
    metrics["n"] = len(rows)
    metrics["seconds"] = round(seconds, 1)
    return metrics


_NOT_COUNTED = re.compile(r"[\s\u3000，。、；：？！,.;:?!“”‘’\"'（）()《》【】\[\]-]")


def _for_matching(text: str) -> str:
    return _NOT_COUNTED.sub("", unicodedata.normalize("NFKC", text)).lower()


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the two are equal once spaces, punctuation and width are set aside (CMRC's EM)."""
    return float(bool(prediction) and _for_matching(prediction) == _for_matching(gold))


def char_f1(prediction: str, gold: str) -> float:
    """F1 over characters shared (as bags), spaces and punctuation set aside: the usual Chinese span F1."""
    p, g = Counter(_for_matching(prediction)), Counter(_for_matching(gold))
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def _gold_key(dataset: Dataset, hit) -> str:
    return hit.chunk.article_id if dataset.gold_is == "article_id" else hit.chunk.title


def without_gold(dataset: Dataset, hits: list[Hit], gold: str | tuple[str, ...], k: int) -> list[Hit]:
    """The first k hits that are not from a gold passage (and each side's best of them, as
    `retrieval.first`): what a corpus without them would return."""
    golds = (gold,) if isinstance(gold, str) else gold
    return first([h for h in hits if _gold_key(dataset, h) not in golds], k)


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
        answer = engine.extractive(question.question, query, first(hits, top_k), as_of=when)
        shown = shown_answer(answer)
        answer_rank = next((i for i, h in enumerate(hits, start=1)
                            if any(a in h.chunk.text for a in question.answers)), None)
        removed = None
        if question.gold is not None:
            removed = engine.extractive(question.question, query, without_gold(dataset, hits, question.golds, top_k),
                                        as_of=when)
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


def by_facet(rows: list[dict], ks: list[int]) -> dict[str, dict]:
    """Metrics per facet value ("temporal_expression_type=explicit"), for datasets that have facets."""
    facets = sorted({(facet, value) for r in rows for facet, value in r["groups"].items()})
    return {f"{facet}={value}": summarise([r for r in rows if r["groups"].get(facet) == value], ks, 0.0)
            for facet, value in facets}


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
                scorer: Scorer | None = None) -> Engine:
    """An engine for the dataset: over its own passages (SQuAD), over settings.corpus, or over settings.index_dir.

    Indexes of passages and corpora are cached under cache_dir, keyed by content, model and chunking.
    """
    model = settings.model or DEFAULT_MODEL
    if dataset.articles:
        directory = Path(cache_dir) / index_cache_key(dataset, model, settings.chunk_size, settings.chunk_overlap)
        if Location(directory).manifest() is None:  # none yet, or of an older format: built (vectors kept)
            build_index(dataset.articles, directory, make_embedder(model), settings.chunk_size,
                        settings.chunk_overlap, extra_manifest={"dataset": dataset.name})
        settings = replace(settings, index_dir=directory)
    elif use_corpus:
        key = hashlib.sha1("|".join(str(p.resolve()) for p in settings.corpus).encode()).hexdigest()[:12]
        settings = replace(settings, index_dir=Path(cache_dir) / f"corpus-{key}")
        if not index_is_current(settings):
            build(settings)
    engine = Engine.open(settings, scorer=scorer)
    engine.llm = None  # the evaluation measures the offline pipeline
    if engine.reader:
        engine.reader.wait()  # every question is answered by the reader, not only those after it loads
    return engine
