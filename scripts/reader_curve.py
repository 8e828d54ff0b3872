"""Refusal curves of a reader on a question set, and the thresholds the answer step uses.

Each question is searched as `qa ask` searches it; the reader reads the hits the answer step reads
and gives each its best span. Two ways to judge answerability are compared (AUROC, answerable
against unanswerable questions):
- margin: the best span's start+end logit over the same passage's "no answer" (<s>) logit, the
  highest over the hits (SQuAD 2.0 style);
- haystack: 1 − ∏(1 − sigmoid(0.1 · span logit)) over the hits' best spans, as deepset's Haystack
  `ExtractiveReader` scores "no answer" (no <s> logit).
Then, on the margin, the refusal rate of answerable and of unanswerable questions at every
threshold (a PNG), and the threshold that refuses the most unanswerable questions while refusing
at most `--max-false-refusal` of the answerable ones. `--write` stores it beside the weights
(`reader.json`, read by `qa.answer.reader.Thresholds`).

    python scripts/reader_curve.py data/news_qa/dev.jsonl --reader runs/a/reader.npz --png docs/reader_refusal.png --write
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_reader import auroc  # noqa: E402

from qa.answer.compose import choose_sentences, compose, strip_markers  # noqa: E402
from qa.answer.engine import FOCUSED_MIN_PROBABILITY  # noqa: E402
from qa.answer.evidence import with_lead  # noqa: E402
from qa.answer.span_answer import best_spans, sentence_quote  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.eval.datasets import load_dataset  # noqa: E402
from qa.eval.evaluation import CHUNK_DEPTH, open_engine  # noqa: E402
from qa.search.followup import focus_terms  # noqa: E402
from qa.search.question_time import parse_as_of  # noqa: E402
from qa.search.retrieval import top_and_each_sides_best  # noqa: E402

HAYSTACK_CALIBRATION = 0.1
SHORT_PRECISION = 0.90  # the short answer leads where the best span is right 9 times in 10 (0.85 before 2026-12-07)


def _precision(rows: list[dict]) -> float:
    return sum(r["hit"] for r in rows) / len(rows) if len(rows) >= 20 else 0.0


def read_questions(dataset, engine) -> list[dict]:
    rows = []
    reader = engine.reader.wait()
    for question in dataset.questions:
        when = parse_as_of(question.as_of) if question.as_of else None
        query, hits = engine.search(question.question, list(question.history), k=CHUNK_DEPTH, as_of=when)
        shown = top_and_each_sides_best(hits, engine.settings.top_k)
        hits = with_lead(engine.store, engine.quotable(query, shown, when))
        spans = best_spans(reader, engine.reading(question.question, query, list(question.history)), hits)
        best = spans[0] if spans else None
        focus = focus_terms(question.question) if query != question.question else []
        ranked, answerable, weights = engine.rank(query, hits, focus)
        if focus and ranked and ranked[0].score < FOCUSED_MIN_PROBABILITY:
            answerable = 0.0
        scorer_quote = strip_markers(compose(question.question, choose_sentences(
            ranked, engine.scorer.keep_ratio, weights)).text) if ranked else ""
        rows.append({
            "id": question.id, "answerable": question.gold is not None,
            "kind": dict(question.groups).get("kind", ""), "query": query, "focus": focus,
            "scorer_hit": any(a in scorer_quote for a in question.answers), "scorer_chars": len(scorer_quote),
            "spans": [{"passage": s.passage, "margin": round(s.margin, 3), "text": s.text,
                       "holds": any(a in hits[s.passage].chunk.text for a in question.answers),
                       "hit": any(a in s.text or (s.text and s.text in a and len(s.text) * 2 >= len(a))
                                  for a in question.answers),
                       "quote": sentence_quote(hits[s.passage], s).text} for s in spans],
            "scorer_refuses": not ranked or answerable < engine.scorer.abstain_below,
            "margin": best.margin if best else -99.0,
            "haystack": 1 - math.prod(1 - 1 / (1 + math.exp(-HAYSTACK_CALIBRATION * s.score)) for s in spans),
            "span": best.text if best else "",
            "hit": bool(best and any(a in best.text or (best.text and best.text in a and len(best.text) * 2 >= len(a))
                                     for a in question.answers)),
            "sentence_hit": bool(best and any(a in hits[best.passage].chunk.text for a in question.answers)),
        })
    return rows


def curve(rows: list[dict]) -> list[tuple[float, float, float]]:
    """(threshold, answerable refused, unanswerable refused) at every distinct margin, a question
    being refused when the sentence scorer refuses it or the reader's margin is below the threshold."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]

    def refused(part: list[dict], threshold: float) -> float:
        return sum(r["scorer_refuses"] or r["margin"] < threshold for r in part) / max(1, len(part))

    return [(t, refused(answerable, t), refused(unanswerable, t))
            for t in sorted({round(r["margin"], 2) for r in rows} | {0.0})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--reader", type=Path, required=True)
    parser.add_argument("--max-false-refusal", type=float, default=0.05)
    parser.add_argument("--png", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write", action="store_true", help="store the chosen threshold beside the weights")
    parser.add_argument("--rows", type=Path, help="a --json of an earlier run: its questions, not read again")
    args = parser.parse_args()
    if args.rows:  # the questions as read by an earlier run of this script (its --json)
        rows = json.loads(args.rows.read_text())["rows"]
    else:
        dataset = load_dataset(args.dataset)
        settings = Settings.load(reader=str(args.reader))
        engine = open_engine(dataset, settings, Path(os.environ.get("QA_CACHE", ".cache")) / "eval", False)
        rows = read_questions(dataset, engine)
    pos = [r for r in rows if r["answerable"]]
    neg = [r for r in rows if not r["answerable"]]
    summary = {"answerable": len(pos), "unanswerable": len(neg),
               "auroc_margin": round(auroc([r["margin"] for r in pos], [r["margin"] for r in neg]), 4),
               "auroc_haystack": round(auroc([r["haystack"] for r in pos], [r["haystack"] for r in neg]), 4),
               "best_span_hit": round(sum(r["hit"] for r in pos) / len(pos), 4),
               "best_span_passage_holds_answer": round(sum(r["sentence_hit"] for r in pos) / len(pos), 4)}
    points = curve(rows)
    allowed = [p for p in points if p[1] <= args.max_false_refusal]
    chosen = max(allowed, key=lambda p: (p[2], -p[0])) if allowed else (0.0, 0.0, 0.0)
    summary |= {"refuse_below": chosen[0], "answerable_refused": round(chosen[1], 4),
                "unanswerable_refused": round(chosen[2], 4)}
    # The short answer leads where the reader's best spans hold a gold answer SHORT_PRECISION of the time or more.
    short = next((t for t in sorted({round(r["margin"], 1) for r in pos})
                  if _precision([r for r in pos if r["margin"] >= t]) >= SHORT_PRECISION), 99.0)
    summary["short_above"] = max(short, chosen[0])
    summary["short_shown"] = round(sum(r["margin"] >= summary["short_above"] for r in pos) / len(pos), 4)
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, ensure_ascii=False, indent=1))
    if args.write:
        target = args.reader.with_suffix(".json")
        trained = json.loads(target.read_text()) if target.exists() else {}  # how train_reader.py read follow-ups
        kept = {"followups": trained["followups"]} if "followups" in trained else {}
        target.write_text(json.dumps({"chosen_on": str(args.dataset), **summary, **kept}, indent=1) + "\n")
        print(f"wrote {target}")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(6, 4))
        axis.plot([p[0] for p in points], [p[1] for p in points], label="answerable refused")
        axis.plot([p[0] for p in points], [p[2] for p in points], label="unanswerable refused")
        axis.axvline(chosen[0], color="grey", linestyle="--", label=f"threshold {chosen[0]:.2f}")
        axis.set_xlabel("reader margin (best span over no answer)")
        axis.set_ylabel("share refused")
        axis.set_title(f"{args.dataset}: refusal by threshold")
        axis.legend()
        figure.tight_layout()
        figure.savefig(args.png, dpi=120)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
