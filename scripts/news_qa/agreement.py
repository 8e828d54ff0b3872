"""Compare the writers' labels with the second reader's blind answers (issue 21's second pass).

A question agrees when both say "not answerable", or both answer and the spans meet: one contains
the other, or they overlap where the article states them. Prints the agreement rate per batch and
overall, and writes the disagreements (with both answers) for adjudication.

    python scripts/news_qa/agreement.py --work /work/news_qa_work --out /work/news_qa_work/disagreements.jsonl
"""
from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

NEWS = Path(__file__).resolve().parents[3] / "shared/data/news/crud_news_10k.jsonl.gz"


def _positions(text: str, span: str) -> list[range]:
    out, at = [], text.find(span)
    while span and at >= 0:
        out.append(range(at, at + len(span)))
        at = text.find(span, at + 1)
    return out


def agrees(label: list[str], second: str | None, text: str) -> bool:
    """Whether the second reader's answer agrees with the labeled answers."""
    if not label or second is None:
        return not label and second is None
    second = second.strip()
    if any(a in second or second in a for a in label):
        return True
    mine = [r for a in label for r in _positions(text, a)]
    theirs = _positions(text, second)
    return any(set(r) & set(s) for r in mine for s in theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    news = [json.loads(line) for line in gzip.open(NEWS, "rt", encoding="utf-8")]
    total = agreed = 0
    rows = []
    for written in sorted((args.work / "written").glob("batch*.jsonl")):
        answers_path = args.work / "verify" / written.name.replace(".jsonl", ".answers.jsonl")
        if not answers_path.exists():
            print(f"{written.name}: no second pass yet")
            continue
        second = {}
        for line in answers_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                second[record["id"]] = record
        n = ok = 0
        for line in written.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            other = second.get(record["id"])
            if other is None:
                continue
            n += 1
            text = news[record["article"]]["text"]
            same = agrees(record["answers"], other.get("answer"), text)
            ok += same
            row = {"id": record["id"], "batch": written.stem, "agrees": same, "second_answer": other.get("answer"),
                   "second_why": other.get("why") or other.get("note")}
            rows.append(row)
            if not same:
                rows[-1] |= {"question": record["question"], "history": record["history"],
                             "label_answers": record["answers"], "near_miss": record["near_miss"],
                             "article": record["article"]}
        print(f"{written.stem}: {ok}/{n} agree ({ok / max(1, n):.1%})")
        total, agreed = total + n, agreed + ok
    print(f"all: {agreed}/{total} agree ({agreed / max(1, total):.1%})")
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
