"""`qa eval`: retrieval and answers measured on a question set (CMRC 2018 / DRCD .json, ChronoQA
.csv, questions .jsonl), with the same options as `qa ask` where they apply."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qa.cli import (
    _reader,
    as_of_option,
    corpus_option,
    index_option,
    main,
    model_option,
    reader_option,
    reports_errors,
    year_option,
)
from qa.config import Settings


def _ks(value: str) -> list[int]:
    try:
        ks = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise click.BadParameter("give cut-offs like 1,5,10", param_hint="--k") from None
    if not ks or ks[0] < 1:
        raise click.BadParameter("give cut-offs like 1,5,10", param_hint="--k")
    return ks


@main.command("eval")
@click.argument("dataset", type=click.Path(path_type=Path))
@index_option
@corpus_option
@model_option
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "dense", "all"]), default="all", show_default=True)
@click.option("--k", "ks", default="1,5,10", show_default=True, help="Cut-offs for recall@k and answer@k.")
@click.option("--limit", type=click.IntRange(min=1),
              help="Evaluate the first N questions (the whole passage pool is indexed; for ChronoQA only theirs).")
@click.option("--chunk-size", type=click.IntRange(min=20), help="Characters per chunk. [default: 160]")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write {mode: {metric: value}} here.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for recall.png and misses.jsonl.")
@click.option("--scorer", type=click.Path(path_type=Path),
              help="Answer scorer file (models/scorer*.json), e.g. one trained without this dataset.")
@as_of_option
@click.option("--no-time", is_flag=True, help="Ignore time in the questions (the pipeline without time handling).")
@reader_option
@click.option("--reader", "reader_path", type=click.Path(path_type=Path),
              help="The reader's weights to answer with (e.g. one trained without this dataset).")
@year_option
@reports_errors
def evaluate(dataset, index_dir, store, collection, corpus, model, mode, ks, limit, chunk_size, json_path, out, scorer, as_of,
             no_time, no_reader, reader_path, year) -> None:
    """Measure retrieval and answers on DATASET: SQuAD-style .json (CMRC 2018, DRCD), ChronoQA .csv
    (each question as of its question_date) or questions .jsonl."""
    from tqdm import tqdm

    from qa.answer.scoring import load_scorer
    from qa.eval.datasets import load_dataset
    from qa.eval.evaluation import embed_questions, evaluate_mode, open_engine
    from qa.eval.report import markdown_table, recall_chart, write_misses

    cut_offs = _ks(ks)
    data = load_dataset(dataset, limit)
    for message in data.skipped:
        click.echo(f"qa: warning: skipped {message}", err=True)
    if data.skipped:
        click.echo(f"qa: warning: {len(data.skipped)} questions skipped", err=True)
    settings = Settings.load(index_dir=index_dir, store=store, collection=collection, corpus=corpus, model=model,
                             chunk_size=chunk_size, reader=_reader(no_reader) or (str(reader_path) if reader_path else None),
                             year=year)
    engine = open_engine(data, settings, settings.eval_cache, bool(corpus),
                         scorer=load_scorer(scorer) if scorer else None, time_aware=not no_time)
    modes = ["bm25", "dense", "hybrid"] if mode == "all" else [mode]
    if modes != ["bm25"]:
        with tqdm(total=len(data.questions), desc="embedding questions", unit="q") as bar:
            embed_questions(engine, data, bar.update)
    results, misses = {}, []
    for name in modes:
        with tqdm(total=len(data.questions), desc=name, unit="q") as bar:
            results[name], missed, facets = evaluate_mode(engine, data, name, cut_offs, bar.update, as_of)
        results.update({f"{name} · {facet}": values for facet, values in facets.items()})
        misses.extend(missed)
    manifest = engine.store.manifest
    click.echo(f"\n{data.name}: {len(data.questions)} questions, {manifest.chunks} chunks "
               f"of {manifest.articles} passages, model {manifest.model}, chunk size {manifest.chunk_size}\n")
    click.echo(markdown_table(results))
    if json_path:
        json_path.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    if out:
        out.mkdir(parents=True, exist_ok=True)
        recall_chart(results, out / "recall.png", f"{data.name}: recall@k")
        write_misses(misses, out / "misses.jsonl")
        click.echo(f"\nwrote {out / 'recall.png'} and {out / 'misses.jsonl'} ({len(misses)} rows)")
