"""The labeled news questions (data/news_qa/): loading them and checking what the set promises.

Each line is `{"id", "question", "answers", "history", "kind", "article", "text_sha1",
"near_miss", "topic"}`; `article` is the 0-based line of the news sample, `text_sha1` the first
8 hex digits of the SHA-1 of its text. Standard library only: writers run `python -m
qa.eval.news_qa FILE...` on their batches before the package is installed.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FIELDS = ("id", "question", "answers", "history", "kind", "article", "text_sha1", "near_miss", "topic")
KINDS = ("who", "where", "when", "number", "why", "how", "what", "short_form", "colloquial", "followup",
         "yes_no", "why_how")  # the last two: the question forms of data/news_forms/
NEAR_MISS_KINDS = ("other_period", "other_entity", "other_metric", "number_not_given", "cause_not_given",
                   "related_detail")
TOPICS = ("economy", "technology", "sports", "politics", "local", "international", "health", "culture")
NEWS_SAMPLE = Path(__file__).resolve().parents[2].parent / "shared/data/news/crud_news_10k.jsonl.gz"
MAX_PER_ARTICLE = 6
COPY_RUN = 10  # a question sharing this many characters in a row with its article copies its wording

# What the set promises (issue 21), checked by tests/test_news_qa.py and by `python -m qa.eval.news_qa`.
MIN_QUESTIONS, MIN_ARTICLES = 2400, 600
MIN_UNANSWERABLE_SHARE, MIN_FOLLOWUP_SHARE, MAX_COPY_SHARE = 0.35, 0.10, 0.08
MIN_NEAR_MISS_KINDS = 6
MIN_DEV_ARTICLE_SHARE, MIN_DEV_QUESTIONS = 0.20, 500


def text_sha1(text: str) -> str:
    """The short hash a record keeps of its article's text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def load_news(path: Path) -> list[dict]:
    """The news sample, one {"title", "date", "text"} per line (its line number is the article)."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def load_records(path: Path) -> list[dict]:
    """One labeled file (JSONL)."""
    with Path(path).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def is_label_record(record: object) -> bool:
    """Whether a JSON record is a labeled news question (it names its article and the text's hash)."""
    return isinstance(record, dict) and "article" in record and "text_sha1" in record


def copies_wording(question: str, text: str, run: int = COPY_RUN) -> bool:
    """Whether the question repeats `run` characters of the article in a row."""
    return any(question[i:i + run] in text for i in range(len(question) - run + 1))


def record_problems(record: dict, news: list[dict]) -> list[str]:
    """What is wrong with one record, as readable lines (empty when it is sound)."""
    where = record.get("id", "?")
    missing = [name for name in FIELDS if name not in record]
    if missing:
        return [f"{where}: missing {', '.join(missing)}"]
    problems = []
    if not isinstance(record["article"], int) or not 0 <= record["article"] < len(news):
        return [f"{where}: article {record['article']!r} is not a line of the news sample"]
    text = news[record["article"]]["text"]
    if record["text_sha1"] != text_sha1(text):
        problems.append(f"{where}: text_sha1 {record['text_sha1']} does not match the sample ({text_sha1(text)})")
    if not isinstance(record["question"], str) or not record["question"].strip():
        problems.append(f"{where}: empty question")
    if record["kind"] not in KINDS:
        problems.append(f"{where}: kind {record['kind']!r} not one of {', '.join(KINDS)}")
    if record["topic"] not in TOPICS:
        problems.append(f"{where}: topic {record['topic']!r} not one of {', '.join(TOPICS)}")
    answers, near_miss, history = record["answers"], record["near_miss"], record["history"]
    if not isinstance(answers, list) or not isinstance(history, list):
        return problems + [f"{where}: answers and history must be lists"]
    if bool(answers) == bool(near_miss):
        problems.append(f"{where}: answers must be empty exactly when near_miss is set")
    if near_miss and near_miss not in NEAR_MISS_KINDS:
        problems.append(f"{where}: near_miss {near_miss!r} not one of {', '.join(NEAR_MISS_KINDS)}")
    problems += [f"{where}: answer {answer!r} is not in the article word for word"
                 for answer in answers if not answer or answer not in text]
    if bool(history) != (record["kind"] == "followup"):
        problems.append(f"{where}: a follow-up (kind followup) has a history, and only a follow-up")
    return problems


@dataclass
class Summary:
    """Counts and shares of a labeled set, and what breaks its promises."""
    questions: int
    articles: int
    unanswerable: int
    followups: int
    copies: int
    by_kind: Counter = field(default_factory=Counter)
    by_near_miss: Counter = field(default_factory=Counter)
    by_topic: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def share(self, count: int) -> float:
        return count / self.questions if self.questions else 0.0

    def lines(self) -> list[str]:
        """The summary as printable lines."""
        return [f"{self.questions} questions over {self.articles} articles; "
                f"unanswerable {self.share(self.unanswerable):.1%}, follow-ups {self.share(self.followups):.1%}, "
                f"copying {COPY_RUN} characters {self.share(self.copies):.1%}",
                "kind: " + ", ".join(f"{k} {n}" for k, n in self.by_kind.most_common()),
                "near_miss: " + ", ".join(f"{k} {n}" for k, n in self.by_near_miss.most_common()),
                "topic (articles): " + ", ".join(f"{k} {n}" for k, n in self.by_topic.most_common())]


def summarise(records: list[dict], news: list[dict]) -> Summary:
    """Counts, shares and per-record problems of one set of records."""
    problems = [line for record in records for line in record_problems(record, news)]
    per_article = Counter(record.get("article") for record in records)
    problems += [f"article {article}: {count} questions (at most {MAX_PER_ARTICLE})"
                 for article, count in per_article.items() if count > MAX_PER_ARTICLE]
    ids = Counter(record.get("id") for record in records)
    problems += [f"{id_}: id used {count} times" for id_, count in ids.items() if count > 1]
    sound = [record for record in records if not record_problems(record, news)]
    topics = {record["article"]: record["topic"] for record in sound}
    return Summary(
        questions=len(records), articles=len(per_article),
        unanswerable=sum(1 for record in sound if not record["answers"]),
        followups=sum(1 for record in sound if record["history"]),
        copies=sum(1 for record in sound if copies_wording(record["question"], news[record["article"]]["text"])),
        by_kind=Counter(record["kind"] for record in sound),
        by_near_miss=Counter(record["near_miss"] for record in sound if record["near_miss"]),
        by_topic=Counter(topics.values()), problems=problems)


def promise_breaches(summary: Summary) -> list[str]:
    """The set's promised counts and shares that a summary misses."""
    checks = [
        (summary.questions >= MIN_QUESTIONS, f"{summary.questions} questions (at least {MIN_QUESTIONS})"),
        (summary.articles >= MIN_ARTICLES, f"{summary.articles} articles (at least {MIN_ARTICLES})"),
        (summary.share(summary.unanswerable) >= MIN_UNANSWERABLE_SHARE,
         f"unanswerable {summary.share(summary.unanswerable):.1%} (at least {MIN_UNANSWERABLE_SHARE:.0%})"),
        (summary.share(summary.followups) >= MIN_FOLLOWUP_SHARE,
         f"follow-ups {summary.share(summary.followups):.1%} (at least {MIN_FOLLOWUP_SHARE:.0%})"),
        (summary.share(summary.copies) <= MAX_COPY_SHARE,
         f"copying the article {summary.share(summary.copies):.1%} (at most {MAX_COPY_SHARE:.0%})"),
        (len(summary.by_near_miss) >= MIN_NEAR_MISS_KINDS,
         f"{len(summary.by_near_miss)} near-miss kinds (at least {MIN_NEAR_MISS_KINDS})"),
        (set(summary.by_topic) == set(TOPICS), f"topics {sorted(summary.by_topic)} (all of {', '.join(TOPICS)})"),
    ]
    return [message for ok, message in checks if not ok]


def main(argv: list[str]) -> int:
    """Check labeled files: `python -m qa.eval.news_qa FILE... [--news PATH]`."""
    news_path = NEWS_SAMPLE
    if "--news" in argv:
        at = argv.index("--news")
        news_path, argv = Path(argv[at + 1]), argv[:at] + argv[at + 2:]
    news = load_news(news_path)
    records = [record for path in argv for record in load_records(Path(path))]
    summary = summarise(records, news)
    print("\n".join(summary.lines()))
    for line in summary.problems[:50]:
        print("problem:", line)
    return 1 if summary.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
