"""Refusal on ChineseSquad v2.0 dev (research use only; never trained on): each question against its own
paragraph, read as the product reads (the paragraph cut into its 160-character chunks, the best margin of
"a span" over "no answer" across them).

Reported: the share of unanswerable questions refused at the threshold where the answerable half is
refused at a given rate (5%, and the rate the shipped threshold gives), the shipped threshold's own
rates, and the AUROC of the margin. XQuAD translates paragraphs of the same English articles and the
reader trains on XQuAD: paragraphs that match an XQuAD paragraph (character-bigram Jaccard ≥ 0.3) are
left out, and their number said.

    python scripts/squad2_refusal.py [--reader qa/models/reader.npz] [--limit 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
OVERLAP = 0.3


def _bigrams(text: str) -> set[str]:
    text = "".join(text.split())
    return {text[i:i + 2] for i in range(len(text) - 1)}


def questions(limit: int, seed: int = 13) -> tuple[list[tuple[str, str, bool]], int]:
    """(question, paragraph, answerable) for paragraphs not matching XQuAD, a seeded sample; and how many
    paragraphs were left out as XQuAD's."""
    xquad = [_bigrams(p["context"]) for a in json.loads((DATA / "xquad" / "xquad.zh.json").read_text())["data"]
             for p in a["paragraphs"]]
    found, left_out = [], 0
    for article in json.loads((DATA / "chinese_squad" / "dev-v2.0-zh.json").read_text())["data"]:
        for paragraph in article["paragraphs"]:
            grams = _bigrams(paragraph["context"])
            if any(len(grams & x) / max(1, len(grams | x)) >= OVERLAP for x in xquad):
                left_out += 1
                continue
            found.extend((q["question"], paragraph["context"], not q.get("is_impossible", False))
                         for q in paragraph["qas"])
    random.Random(seed).shuffle(found)
    return found[:limit] if limit else found, left_out


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counted half."""
    ranks = np.argsort(np.argsort(np.concatenate([positive, negative]), kind="stable"), kind="stable") + 1.0
    return float((ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2)
                 / (len(positive) * len(negative)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader", type=Path, default=ROOT / "qa" / "models" / "reader.npz")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import torch

    from qa.answer.reader import Reader, Thresholds
    from qa.ingest.chunking import split_article
    from qa.ingest.corpus import Article

    torch.set_num_threads(2)
    reader, shipped = Reader.load(args.reader), Thresholds.beside(args.reader).refuse_below
    asked, left_out = questions(args.limit)
    margins, answerable = [], []
    started = time.perf_counter()
    for n, (question, paragraph, has_answer) in enumerate(asked, start=1):
        chunks = [c.text for c in split_article(Article("p", "", paragraph), 160, 1)]
        margins.append(max(span.margin for span in reader.read(question, chunks)))
        answerable.append(has_answer)
        if n % 200 == 0:
            print(f"{n}/{len(asked)} {time.perf_counter() - started:.0f} s", file=sys.stderr)
    margins, answerable = np.array(margins), np.array(answerable)
    yes, no = margins[answerable], margins[~answerable]
    result = {"reader": str(args.reader), "questions": len(asked), "answerable": int(answerable.sum()),
              "unanswerable": int((~answerable).sum()), "paragraphs_left_out_as_xquad": left_out,
              "auroc_margin": auroc(yes, no), "shipped_threshold": shipped,
              "shipped_false_refusal": float((yes < shipped).mean()), "shipped_refused": float((no < shipped).mean())}
    for rate in (0.05, result["shipped_false_refusal"]):
        threshold = float(np.quantile(yes, rate))
        result[f"refused_at_false_refusal_{rate:.3f}"] = float((no < threshold).mean())
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
