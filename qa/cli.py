"""The `qa` command: thin wrappers that turn settings into calls and QAError into exit codes."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from functools import wraps
from pathlib import Path

import click

from qa.config import Settings
from qa.errors import QAError

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
                             help="Folder or file of articles (.md/.txt/.jsonl/.pdf/.html/.docx, .png/.jpg/.webp screenshots); repeatable. [default: seeds]")
year_option = click.option(
    "--year", type=click.IntRange(1900, 2099), metavar="YYYY",
    help="Year of the articles' dates written without one (\"11月19日\") when the article and its file do not "
         "give it; the index keeps it for later builds. [default: none: such dates stay undated]")
_index_folder = click.option("--index", "index_dir", type=click.Path(), envvar="QA_INDEX",
                             help="Index folder of the embedded store. [default: embeddings]")
_store = click.option("--store", envvar="QA_STORE",
                      help="Where the index lives: absent = the embedded store in --index; PATH.db = Milvus Lite; "
                           "http(s)://host:19530 = a Milvus server (token in QA_MILVUS_TOKEN).")
_collection = click.option("--collection", envvar="QA_COLLECTION",
                           help="Named knowledge base in the store. [default: default]")


def index_option(command):
    """--index, --store and --collection: where the index is."""
    return _index_folder(_store(_collection(command)))
model_option = click.option("--model", envvar="QA_MODEL",
                            help="Embedding model: e5-small (bundled, offline) or a sentence-transformers name/path.")


@main.command()
@corpus_option
@index_option
@model_option
@click.option("--chunk-size", type=click.IntRange(min=20), help="Characters per chunk at most. [default: 160]")
@year_option
@click.option("--strict", is_flag=True, help="Fail on an unreadable file instead of skipping it.")
@click.option("--no-wait", is_flag=True, help="Fail at once if another build of this index is running.")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
@reports_errors
def build(corpus, index_dir, store, collection, model, chunk_size, year, strict, no_wait, as_json) -> None:
    """Read the articles and (re)build the index; unchanged chunks are not embedded again.
    One build per index at a time: a second one waits for the first (or fails with --no-wait)."""
    from qa.index.build import build as build_index

    settings = Settings.load(corpus=corpus, index_dir=index_dir, store=store, collection=collection, model=model,
                             chunk_size=chunk_size, year=year)
    report = build_index(settings, strict=strict, progress=not as_json, wait=not no_wait, on_wait=_say_waiting)
    for message in report.skipped:
        click.echo(f"qa: warning: skipped {message}", err=True)
    if as_json:
        fields = asdict(report)
        fields.pop("skipped")
        click.echo(json.dumps(fields, ensure_ascii=False))
    else:
        click.echo(report.summary())


def _as_of(ctx, param, value):
    from qa.search.question_time import parse_as_of

    try:
        return parse_as_of(value)
    except QAError as error:
        raise click.BadParameter(str(error), param_hint="--as-of") from None


reader_option = click.option(
    "--no-reader", "no_reader", is_flag=True,
    help="Answer without the trained reader: the sentence scorer quotes the answer (QA_READER=off).")


def _reader(no_reader: bool) -> str | None:
    return "off" if no_reader else None


as_of_option = click.option("--as-of", "as_of", callback=_as_of, metavar="YYYY-MM-DD",
                            help="Read time in questions (今年, 上周, 最新) as of this date. [default: today]")


def _say_waiting(holder: str) -> None:
    click.echo(f"qa: another build of this index is running ({holder}); waiting for it to finish…", err=True)


def format_answer(answer) -> str:
    """The answer, then its numbered sources (title · source · date, and the quote)."""
    from qa.ingest.dates import shown_date

    lines = [answer.text]
    if answer.notice:
        lines.append(f"（{answer.notice}）")
    if answer.citations:
        lines.append("\n来源：")
        for c in answer.citations:
            meta = " · ".join(part for part in (c.title, c.source, shown_date(c.date)) if part)
            if c.also:
                meta += f"（另见：{'、'.join(c.also)}）"
            if c.origin == "ocr":
                meta += "（文字由图片识别，可能有误）"
            elif c.origin == "summary":
                meta += "（订阅源摘要）"
            lines.append(f"[{c.n}] {meta}" + (f"\n    {c.url}" if c.url else "") + f"\n    “{c.quote}”")
    elif answer.nearest:
        lines.append("\n最接近的资料：")
        lines.extend(f"- {n['title']} · {n['source'] or '来源不详'} · {shown_date(n['date'])}" for n in answer.nearest)
    return "\n".join(lines)


@main.command()
@click.argument("question")
@index_option
@model_option
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "dense"]), envvar="QA_MODE",
              help="Retrieval: BM25, dense (FAISS) or both fused. [default: hybrid]")
@click.option("--k", "top_k", type=click.IntRange(1, 50), envvar="QA_TOP_K", help="Passages to retrieve. [default: 5]")
@as_of_option
@reader_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer and citations as JSON.")
@reports_errors
def ask(question, index_dir, store, collection, model, mode, top_k, as_of, no_reader, as_json) -> None:
    """Answer one QUESTION from the index, with cited sources."""
    from qa.answer.engine import Engine, check_question

    check_question(question)  # before loading anything
    settings = Settings.load(index_dir=index_dir, store=store, collection=collection, model=model, mode=mode,
                             top_k=top_k, reader=_reader(no_reader))
    engine = Engine.open(settings)
    if engine.reader:
        engine.reader.wait()  # one question: worth waiting the few seconds the reader takes to load
    answer = engine.ask(question, as_of=as_of)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_answer(answer))


def _auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise click.BadParameter("use --auth USER:PASSWORD", param_hint="--auth")
    return user, password


def _knowledge_base_settings(corpus, **flags) -> Settings:
    """Settings for a command that changes a knowledge base: its articles are the ones given, else
    those its index was built from (a collection keeps them), else the default."""
    from qa.config import corpus_in_environment
    from qa.index.stores import location_for

    settings = Settings.load(corpus=corpus, **flags)
    if not corpus and not corpus_in_environment():
        built = location_for(settings).manifest()
        if built is not None and built.corpus:
            settings = replace(settings, corpus=tuple(Path(p) for p in built.corpus))
    return settings


def _open_live(corpus, index_dir, store, collection, model, build_first: bool, no_reader: bool = False,
               year: int | None = None):
    """The live engine for `qa chat`/`qa serve`: builds or updates the index first when needed."""
    from qa.index.build import build as build_index
    from qa.index.build import index_is_current
    from qa.memory import cap_malloc_arenas
    from qa.serve.live import LiveEngine

    cap_malloc_arenas()  # before the reader's and the server's threads

    # A server: one thread per numeric library unless QA_THREADS says otherwise (concurrent requests must not
    # fight over the cores).
    settings = _knowledge_base_settings(corpus, serving=True, index_dir=index_dir, store=store, collection=collection,
                                        model=model, reader=_reader(no_reader), year=year)
    corpus_exists = all(p.exists() for p in settings.corpus)
    if build_first and corpus_exists and not index_is_current(settings):
        click.echo("qa: the index is missing or older than the articles; building it first…", err=True)
        report = build_index(settings, progress=True, on_wait=_say_waiting)
        for message in report.skipped:
            click.echo(f"qa: warning: skipped {message}", err=True)
        click.echo(report.summary(), err=True)
    return LiveEngine(settings)


server_options = [
    click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 exposes it."),
    click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535)),
    click.option("--api-key", envvar="QA_API_KEY",
                 help="Require `Authorization: Bearer KEY` on the OpenAI-compatible API (/v1)."),
]


def with_server_options(command):
    for option in reversed(server_options):
        command = option(command)
    return command


def _warn_if_open(host: str, api_key: str | None) -> None:
    from qa.serve.app import is_loopback

    if not is_loopback(host) and not api_key:
        click.echo(f"qa: warning: the API at {host} answers anyone who can reach it; set --api-key", err=True)


@main.command()
@corpus_option
@index_option
@model_option
@with_server_options
@click.option("--auth", help="Require a login for the page, as USER:PASSWORD (needed to add or delete "
                             "articles when --host is not 127.0.0.1).")
@click.option("--allow-private-urls", is_flag=True,
              help="Let the page fetch links and feeds in private, loopback and link-local ranges even when "
                   "--host is not 127.0.0.1 (by default only a page on 127.0.0.1 may: the operator's own network).")
@reader_option
@year_option
@reports_errors
def chat(corpus, index_dir, store, collection, model, host, port, api_key, auth, allow_private_urls, no_reader,
         year) -> None:
    """Serve the web chat, its 资料库 and the OpenAI-compatible API; builds or updates the index first
    when the articles changed, and follows every later rebuild."""
    from qa.ingest.fetch import FetchPolicy
    from qa.serve.app import is_loopback, serve
    from qa.serve.knowledge_base import KnowledgeBase

    credentials = _auth(auth)
    live = _open_live(corpus, index_dir, store, collection, model, build_first=True, no_reader=no_reader, year=year)
    editable = is_loopback(host) or credentials is not None
    knowledge_base = KnowledgeBase(live, editable, refusal=(
        "" if editable else f"这个服务监听在 {host}，且没有设置登录：资料库只读。要在页面上添加或删除文章，"
        "请用 --auth USER:PASSWORD 启动（或只监听 127.0.0.1）。"),
        fetch_policy=FetchPolicy(allow_private=is_loopback(host) or allow_private_urls))
    _warn_if_open(host, api_key)
    manifest = live.current().store.manifest
    click.echo(f"新闻问答 on http://{host}:{port} — {manifest.chunks} passages from "
               f"{manifest.articles} articles; OpenAI-compatible API at http://{host}:{port}/v1 "
               "(Ctrl+C to stop)", err=True)
    serve(live, knowledge_base, host=host, port=port, auth=credentials, api_key=api_key)


@main.command("serve")
@index_option
@model_option
@with_server_options
@reader_option
@reports_errors
def serve_api(index_dir, store, collection, model, host, port, api_key, no_reader) -> None:
    """Serve only the OpenAI-compatible API (/v1) over an existing index, following its rebuilds."""
    from qa.serve.app import serve

    live = _open_live((), index_dir, store, collection, model, build_first=False, no_reader=no_reader)
    _warn_if_open(host, api_key)
    click.echo(f"新闻问答 API on http://{host}:{port}/v1 — {live.current().store.manifest.chunks} passages "
               "(Ctrl+C to stop)", err=True)
    serve(live, None, host=host, port=port, api_key=api_key)


from qa import cli_eval, cli_web  # noqa: E402,F401  (register `qa eval`; `qa feeds`, `qa watch`, `qa add`)
