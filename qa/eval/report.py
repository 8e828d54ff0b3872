"""Evaluation results for people: a Markdown table, a recall@k chart, a JSONL of misses."""

from __future__ import annotations

import json
from pathlib import Path


def markdown_table(results: dict[str, dict]) -> str:
    """One row per mode, one column per metric."""
    metrics = list(dict.fromkeys(m for values in results.values() for m in values))
    lines = ["| mode | " + " | ".join(metrics) + " |", "| --- |" + " ---: |" * len(metrics)]
    for mode, values in results.items():
        cells = [f"{values[m]:.3f}" if isinstance(values.get(m), float) and m not in ("seconds", "answer_chars")
                 else str(values.get(m, "")) for m in metrics]
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def recall_chart(results: dict[str, dict], path: Path, title: str) -> None:
    """A PNG of recall@k against k, one line per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    for mode, values in results.items():
        ks = sorted(int(name.split("@")[1]) for name in values if name.startswith("recall@"))
        axes.plot(ks, [values[f"recall@{k}"] for k in ks], marker="o", label=mode)
    axes.set_xlabel("k (passages)")
    axes.set_ylabel("recall@k")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_misses(misses: list[dict], path: Path) -> None:
    """Questions whose passage was not first, whose answer missed, or whose abstention was wrong."""
    with Path(path).open("w", encoding="utf-8") as out:
        for row in misses:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
