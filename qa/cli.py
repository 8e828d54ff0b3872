"""The `qa` command: thin wrappers that turn settings into calls and QAError into exit codes."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from functools import wraps

import click

from .config import Settings
from .errors import QAError

EXIT_USAGE = 2


def reports_errors(command):
    """Turn a QAError into a one-line message on stderr and exit code 2."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except QAError as error:
            click.echo(f"qa: error: {error}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper


@click.group()
@click.version_option(package_name="xinwen-qa")
def main() -> None:
    """新闻问答 — ask questions about Chinese news articles, answered with cited sources."""


corpus_option = click.option("--corpus", "corpus", multiple=True, type=click.Path(),
                             help="Folder or file of articles (.md/.txt/.jsonl); repeatable. [default: seeds]")
index_option = click.option("--index", "index_dir", type=click.Path(), envvar="QA_INDEX",
                            help="Index folder. [default: embeddings]")
model_option = click.option("--model", envvar="QA_MODEL",
                            help="Embedding model: e5-small (bundled, offline) or a sentence-transformers name/path.")


@main.command()
@corpus_option
@index_option
@model_option
@click.option("--chunk-size", type=click.IntRange(min=20), help="Characters per chunk at most. [default: 160]")
@click.option("--strict", is_flag=True, help="Fail on an unreadable file instead of skipping it.")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
@reports_errors
def build(corpus, index_dir, model, chunk_size, strict, as_json) -> None:
    """Read the articles and (re)build the index; unchanged chunks are not embedded again."""
    from .build import build as build_index

    settings = Settings.load(corpus=corpus, index_dir=index_dir, model=model, chunk_size=chunk_size)
    report = build_index(settings, strict=strict, progress=not as_json)
    for message in report.skipped:
        click.echo(f"qa: warning: skipped {message}", err=True)
    if as_json:
        fields = asdict(report)
        fields.pop("skipped")
        click.echo(json.dumps(fields, ensure_ascii=False))
    else:
        click.echo(report.summary())
