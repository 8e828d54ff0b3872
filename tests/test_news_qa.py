"""The labeled news questions (data/news_qa/): what the set promises, checked on the set itself."""

from __future__ import annotations

import pytest

from qa.eval.news_qa import (
    MIN_DEV_ARTICLE_SHARE,
    MIN_DEV_QUESTIONS,
    NEWS_SAMPLE,
    TOPICS,
    load_news,
    load_records,
    promise_breaches,
    record_problems,
    summarise,
)

from .conftest import ROOT

LABELS = ROOT / "data" / "news_qa"


@pytest.fixture(scope="module")
def news() -> list[dict]:
    if not NEWS_SAMPLE.is_file():
        pytest.skip(f"the news sample the labels point into is not at {NEWS_SAMPLE} "
                    "(the shared data folder ../shared/data/ beside the project)")
    return load_news(NEWS_SAMPLE)


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict]]:
    return {name: load_records(LABELS / f"{name}.jsonl") for name in ("train", "train2", "dev")}


def test_every_record_is_sound_and_the_set_keeps_its_promises(news, splits, capsys):
    records = splits["train"] + splits["dev"]
    summary = summarise(records, news)
    with capsys.disabled():
        print("\nnews_qa train + dev:\n  " + "\n  ".join(summary.lines()))
    assert summary.problems == []
    assert promise_breaches(summary) == []


def test_dev_is_split_by_article_with_the_same_mix(news, splits):
    train, dev = (summarise(splits[name], news) for name in ("train", "dev"))
    train_articles = {r["article"] for r in splits["train"]}
    dev_articles = {r["article"] for r in splits["dev"]}
    assert not train_articles & dev_articles
    assert len(dev_articles) / len(train_articles | dev_articles) >= MIN_DEV_ARTICLE_SHARE
    assert dev.questions >= MIN_DEV_QUESTIONS
    for part in (train, dev):
        assert set(part.by_topic) == set(TOPICS)
    assert abs(train.share(train.unanswerable) - dev.share(dev.unanswerable)) < 0.05
    assert abs(train.share(train.followups) - dev.share(dev.followups)) < 0.05


def test_the_second_round_is_sound_for_training_and_shares_no_article(news, splits):
    """train2.jsonl, a later round written the same way, goes to training only: dev stays as it was."""
    second = summarise(splits["train2"], news)
    assert not second.problems, second.problems[:5]
    assert second.share(second.unanswerable) >= 0.35 and second.share(second.followups) >= 0.10
    articles = {r["article"] for r in splits["train2"]}
    assert not articles & {r["article"] for r in splits["train"] + splits["dev"]}


def test_the_check_names_what_is_wrong_with_a_record(news, splits):
    sound = next(r for r in splits["dev"] if r["answers"])
    assert record_problems(sound, news) == []
    invented = sound | {"answers": ["这句话不在文章里"]}
    assert any("not in the article word for word" in p for p in record_problems(invented, news))
    half = sound | {"near_miss": "other_period"}
    assert any("empty exactly when near_miss" in p for p in record_problems(half, news))
    moved = sound | {"text_sha1": "00000000"}
    assert any("does not match the sample" in p for p in record_problems(moved, news))
    stray = sound | {"history": ["前一个问题？"]}
    assert any("follow-up" in p for p in record_problems(stray, news))


def test_qa_eval_reads_the_dev_set_against_every_labeled_article(news, splits):
    from qa.eval.datasets import NEWS_QA_AS_OF, load_dataset

    data = load_dataset(LABELS / "dev.jsonl")
    labeled = {r["article"] for rs in splits.values() for r in rs}
    assert len(data.articles) == len(labeled)
    assert len(data.questions) == len(splits["dev"])
    assert all(q.as_of == NEWS_QA_AS_OF for q in data.questions)
    by_id = {a.id: a for a in data.articles}
    for question, record in zip(data.questions, splits["dev"]):
        assert (question.gold is None) == (not record["answers"])
        if question.gold:
            assert any(answer in by_id[question.gold].text for answer in record["answers"])
        assert dict(question.groups)["kind"] == record["kind"]
        assert list(question.history) == record["history"]


@pytest.fixture(scope="module")
def forms() -> dict[str, list[dict]]:
    return {name: load_records(ROOT / "data" / "news_forms" / f"{name}.jsonl") for name in ("train", "dev")}


def test_the_yes_no_and_why_how_set_is_sound_and_split_by_article(news, splits, forms):
    """data/news_forms/: yes/no and why/how questions written the same way, on articles of their own."""
    for records in forms.values():
        summary = summarise(records, news)
        assert summary.problems == []
        assert set(summary.by_kind) == {"yes_no", "why_how"}
        assert summary.share(summary.unanswerable) >= 0.30
    train_articles, dev_articles = ({r["article"] for r in forms[name]} for name in ("train", "dev"))
    assert not train_articles & dev_articles
    assert not (train_articles | dev_articles) & {r["article"] for rs in splits.values() for r in rs}


def test_the_held_out_test_set_is_sound_and_shares_no_article(news, splits, forms):
    """data/news_test/: questions of every kind on 80 articles of their own, for measuring only."""
    records = load_records(ROOT / "data" / "news_test" / "test.jsonl")
    summary = summarise(records, news)
    assert summary.problems == []
    assert summary.share(summary.unanswerable) >= 0.30 and summary.share(summary.followups) >= 0.10
    assert {"yes_no", "why", "how", "colloquial", "short_form", "followup"} <= set(summary.by_kind)
    elsewhere = {r["article"] for rs in [*splits.values(), *forms.values()] for r in rs}
    assert not {r["article"] for r in records} & elsewhere


def test_the_second_held_out_set_is_sound_and_shares_no_article(news, splits, forms):
    """data/news_heldout/: a second set for measuring only (2026-12-07), on 38 articles no other label
    file is about, every question answered again by a blind second reader."""
    records = load_records(ROOT / "data" / "news_heldout" / "heldout.jsonl")
    summary = summarise(records, news)
    assert summary.problems == [] and len(records) >= 200
    assert 0.30 <= summary.share(summary.unanswerable) <= 0.40 and summary.share(summary.followups) >= 0.15
    assert len(summary.by_near_miss) == 6
    blind = {r["id"] for r in load_records(ROOT / "data" / "news_heldout" / "review" / "blind.jsonl")}
    assert blind == {r["id"] for r in records}
    labeled = [*splits.values(), *forms.values(), load_records(ROOT / "data" / "news_test" / "test.jsonl"),
               *(load_records(ROOT / "data" / "news_train" / f"{name}.jsonl") for name in LATER_ROUNDS)]
    assert not {r["article"] for r in records} & {r["article"] for rs in labeled for r in rs}


LATER_ROUNDS = ["round4", "round5", "round6", "round7", "round8"]


@pytest.mark.parametrize("name", LATER_ROUNDS)
def test_the_later_rounds_are_sound_for_training_and_share_no_article(name, news, splits, forms):
    """data/news_train/round4.jsonl to round8.jsonl: training only, on articles no dev or test
    question is about (nor another round)."""
    records = load_records(ROOT / "data" / "news_train" / f"{name}.jsonl")
    summary = summarise(records, news)
    assert summary.problems == []
    assert summary.share(summary.unanswerable) >= 0.35 and summary.share(summary.followups) >= 0.10
    assert {"yes_no", "why_how"} <= set(summary.by_kind) and len(summary.by_near_miss) == 6
    test = load_records(ROOT / "data" / "news_test" / "test.jsonl")
    others = [load_records(ROOT / "data" / "news_train" / f"{other}.jsonl") for other in LATER_ROUNDS if other != name]
    elsewhere = {r["article"] for rs in [*splits.values(), *forms.values(), test, *others] for r in rs}
    assert not {r["article"] for r in records} & elsewhere


def test_retrieved_negatives_are_other_articles_chunks_without_the_answer_as_the_script_mines_them(news, tmp_path):
    """data/news_negatives/retrieved.jsonl (scripts/news_qa/retrieved_negatives.py): for each answerable
    training question, the chunk of another article BM25 ranks highest that holds none of its answers;
    never an article of a measuring set. The committed file is what the script mines from today's labels."""
    import importlib.util
    import subprocess
    import sys

    committed = ROOT / "data" / "news_negatives" / "retrieved.jsonl"
    mined = tmp_path / "retrieved.jsonl"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "news_qa" / "retrieved_negatives.py"), "--out", str(mined)],
                   check=True, capture_output=True, timeout=300)
    assert mined.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
    spec = importlib.util.spec_from_file_location("retrieved_negatives",
                                                  ROOT / "scripts" / "news_qa" / "retrieved_negatives.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    measured = {r["article"] for path in script.MEASURING_FILES for r in load_records(ROOT / path)}
    questions = {(r["set"], r["id"]) for r in load_records(committed)}
    rows = load_records(committed)
    labels = {}
    for name in {r["set"] for r in rows}:
        labels |= {(name, r["id"]): r for r in load_records(ROOT / name)}
    assert len(questions) == len(rows) > 9000
    for row in rows:
        record = labels[(row["set"], row["id"])]
        chunk = script.training_chunks(news[row["article"]]["text"])[row["chunk"]]
        assert record["answers"] and row["article"] != record["article"] and row["article"] not in measured
        assert not any(a in chunk for a in record["answers"])
