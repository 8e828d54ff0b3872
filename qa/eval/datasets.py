"""Evaluation datasets: SQuAD-style sets (CMRC 2018, DRCD), ChronoQA (time-aware news questions,
.csv), the labeled news questions (data/news_qa/) or JSONL question files, each read into a `Dataset`
of questions with their gold passages (and, for SQuAD sets and ChronoQA, the passages to index).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import DatasetError
from qa.eval.news_qa import (
    NEWS_SAMPLE,
    is_label_record,
    load_news,
    load_records,
    text_sha1,
)
from qa.ingest.corpus import Article, article_id, make_article, with_file_years


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
