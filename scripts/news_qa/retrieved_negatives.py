"""Mine a retrieved negative for each answerable training question: the highest-ranked chunk of
*another* article that BM25 over the product's search terms brings for it and that holds none of
its answers.

The reader reads the top hits of a search, so the chunks it must learn to refuse are those a search
ranks high; training negatives drawn from the question's own article never show it another
article's sentence on the same subject (the issue's "a top-ranked non-gold chunk without the
answer"). The corpus is every article the training label files name, cut into the reader's training
chunks; questions are searched as read by the search (follow-ups resolved). Only the search's BM25
side is used (`qa.index.stores.bm25`, `qa.ingest.text.query_terms`): the dense side would embed
some 20,000 chunks first (half an hour here). Skipped, so that no copy of an answer is taught as a
refusal: chunks of the gold article, chunks holding an answer, chunks most of whose character pairs
occur in the gold article (another outlet's copy of the same report); articles of the measuring sets
(news dev and test, the yes/no–why/how dev, the held-out set) are not in the corpus.

    python scripts/news_qa/retrieved_negatives.py      # writes data/news_negatives/retrieved.jsonl

`scripts/train_reader.py --retrieved-negatives P` reads each mined chunk with probability P.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from qa.eval.news_qa import NEWS_SAMPLE, load_news, load_records  # noqa: E402
from qa.index.stores.bm25 import make_bm25  # noqa: E402
from qa.ingest.text import lexical_terms, query_terms  # noqa: E402
from qa.search.followup import resolve_followup  # noqa: E402
from train_reader import bigrams, training_chunks  # noqa: E402  (the chunks the reader is trained on)

TRAIN_FILES = ["data/news_qa/train.jsonl", "data/news_qa/train2.jsonl", "data/news_forms/train.jsonl",
               "data/news_train/round4.jsonl", "data/news_train/round5.jsonl", "data/news_train/round6.jsonl",
               "data/news_train/round7.jsonl", "data/news_train/round8.jsonl"]
MEASURING_FILES = ["data/news_qa/dev.jsonl", "data/news_test/test.jsonl", "data/news_forms/dev.jsonl",
                   "data/news_heldout/heldout.jsonl"]
DEPTH = 10  # hits looked at per question
SAME_REPORT = 0.6  # share of a chunk's character pairs found in the gold article above which it is a copy


def mine(records: list[tuple[str, dict]], news: list[dict]) -> list[dict]:
    measured = {r["article"] for path in MEASURING_FILES for r in load_records(ROOT / path)}
    lines = sorted({r["article"] for _, r in records} - measured)
    chunks = [(line, i, text) for line in lines for i, text in enumerate(training_chunks(news[line]["text"]))]
    bm25 = make_bm25([lexical_terms(text) for _, _, text in chunks])
    out = []
    for name, record in records:
        if not record["answers"] or record["article"] in measured:
            continue
        query = resolve_followup(record["question"], record["history"]) if record["history"] else record["question"]
        terms = list(query_terms(query))
        if not terms:
            continue
        scores = bm25.get_scores(terms)
        gold_pairs = bigrams(news[record["article"]]["text"])
        for rank, at in enumerate(np.argsort(-scores)[:DEPTH], start=1):
            line, index, text = chunks[at]
            pairs = bigrams(text)
            if (scores[at] <= 0 or line == record["article"] or any(a in text for a in record["answers"])
                    or len(pairs & gold_pairs) > SAME_REPORT * max(1, len(pairs))):
                continue
            out.append({"set": name, "id": record["id"], "rank": rank, "article": line, "chunk": index})
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data/news_negatives/retrieved.jsonl")
    args = parser.parse_args()
    records = [(name, r) for name in TRAIN_FILES for r in load_records(ROOT / name)]
    rows = mine(records, load_news(NEWS_SAMPLE))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} negatives for {sum(1 for _, r in records if r['answers'])} answerable questions "
          f"to {args.out}")


if __name__ == "__main__":
    main()
