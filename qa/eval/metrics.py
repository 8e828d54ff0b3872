"""Retrieval and answer metrics over the per-question rows of an evaluation: recall@k, mrr@10 and
ndcg@10 by the gold passage's rank, answer hits, abstentions, and CMRC-style exact match and
character F1 of the reader's short answers.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

RANK_DEPTH = 10  # articles ranked per question for mrr@10 / ndcg@10


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


def by_facet(rows: list[dict], ks: list[int]) -> dict[str, dict]:
    """Metrics per facet value ("temporal_expression_type=explicit"), for datasets that have facets."""
    facets = sorted({(facet, value) for r in rows for facet, value in r["groups"].items()})
    return {f"{facet}={value}": summarise([r for r in rows if r["groups"].get(facet) == value], ks, 0.0)
            for facet, value in facets}
