"""Assemble data/news_qa/ from the writers' batches, the second pass and the adjudicated fixes.

Each disagreement of the second pass is fixed (answers replaced, or turned into a near miss) or
dropped, as `--fixes` says ({"id": ..., "answers": [...]} / {"id": ..., "near_miss": kind} /
{"id": ..., "drop": reason} per line). Articles are split by a hash of their line number, a quarter of
each topic to dev, so every topic has the same share in both. Later rounds (`--extra`) add to the
train split only, so the dev split stays the one every earlier result was measured on.

    python scripts/news_qa/assemble.py --work /work/news_qa_work --extra /work/news_qa_work2
    python scripts/news_qa/assemble.py --work /work/r4 --fixes data/news_train/review/fixes.jsonl \
        --train-only data/news_train/round4.jsonl       # the fourth round, for training only
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from qa.eval.news_qa import FIELDS  # noqa: E402

DEV_SHARE = 0.25


def dev_articles(records: list[dict]) -> set[int]:
    """A quarter of each topic's articles, chosen by a hash of the article's line number."""
    by_topic: dict[str, set[int]] = {}
    for record in records:
        by_topic.setdefault(record["topic"], set()).add(record["article"])
    chosen = set()
    for articles in by_topic.values():
        ordered = sorted(articles, key=lambda a: hashlib.sha1(f"news_qa-{a}".encode()).hexdigest())
        chosen |= set(ordered[:round(len(ordered) * DEV_SHARE)])
    return chosen


def apply_fix(record: dict, fix: dict) -> dict | None:
    if "drop" in fix:
        return None
    if "answers" in fix:
        record = record | {"answers": fix["answers"], "near_miss": None}
    if "near_miss" in fix:
        record = record | {"answers": [], "near_miss": fix["near_miss"]}
    if "question" in fix:
        record = record | {"question": fix["question"]}
    return record


def read_round(work: Path, fixes: dict) -> list[dict]:
    """One round's questions, fixed as adjudicated; a follow-up whose earlier question was dropped
    loses its context, and goes too."""
    records = []
    for path in sorted((work / "written").glob("batch*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            fixed = apply_fix(record, fixes[record["id"]]) if record["id"] in fixes else record
            if fixed is not None:
                records.append({name: fixed[name] for name in FIELDS})
    asked = {(r["article"], r["question"]) for r in records}
    return [r for r in records if all((r["article"], h) in asked for h in r["history"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--fixes", type=Path, default=ROOT / "data/news_qa/review/fixes.jsonl")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="a later round's work folder: its questions go to train")
    parser.add_argument("--out", type=Path, default=ROOT / "data/news_qa")
    parser.add_argument("--train-only", type=Path, metavar="FILE",
                        help="write --work's questions, fixed, to FILE: a round for training only, no dev split")
    args = parser.parse_args()
    fixes = {}
    if args.fixes.exists():
        fixes = {f["id"]: f for f in map(json.loads, args.fixes.read_text(encoding="utf-8").splitlines()) if f}
    records = read_round(args.work, fixes)
    if args.train_only:
        write_records(sorted(records, key=lambda r: (r["article"], r["id"])), args.train_only)
        return
    dev = dev_articles(records)
    records += [r for extra in args.extra for r in read_round(extra, fixes)]
    args.out.mkdir(parents=True, exist_ok=True)
    for name, keep in (("train", lambda r: r["article"] not in dev), ("dev", lambda r: r["article"] in dev)):
        write_records(sorted((r for r in records if keep(r)), key=lambda r: (r["article"], r["id"])),
                      args.out / f"{name}.jsonl")


def write_records(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{path.name}: {len(records)} questions over {len({r['article'] for r in records})} articles")


if __name__ == "__main__":
    main()
