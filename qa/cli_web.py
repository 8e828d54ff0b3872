"""`qa feeds`, `qa watch` and `qa add URL`: news from the web into a knowledge base, then the
incremental build. They take the same options as `qa build`; the feed list lives in the knowledge
base's folder (the first --corpus folder, by default the one its index was built from)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import click

from qa.cli import (
    _knowledge_base_settings,
    _say_waiting,
    corpus_option,
    index_option,
    main,
    model_option,
    reports_errors,
)
from qa.config import Settings

_private_option = click.option(
    "--no-private-urls", "no_private", is_flag=True,
    help="Refuse addresses in private, loopback and link-local ranges (as a page served beyond 127.0.0.1 does).")


def changes_knowledge_base(command):
    """The options of a command that brings web articles into a knowledge base (as `qa build`'s), and its errors
    said on one line."""
    for option in (reports_errors, _private_option, model_option, index_option, corpus_option):
        command = option(command)
    return command


def _policy(no_private: bool = False):
    from qa.ingest.fetch import FetchPolicy

    return FetchPolicy(allow_private=not no_private)


def _feed_list(settings: Settings):
    from qa.ingest.feeds import FeedList
    from qa.ingest.web_articles import knowledge_folder

    return FeedList(knowledge_folder(settings.corpus))


def _settings(corpus, index_dir, store, collection, model) -> Settings:
    return _knowledge_base_settings(corpus, index_dir=index_dir, store=store, collection=collection, model=model)


def _rebuild(settings: Settings) -> None:
    from qa.index.build import build

    report = build(settings, progress=False, on_wait=_say_waiting, what="qa feeds")
    for message in report.skipped:
        click.echo(f"qa: warning: skipped {message}", err=True)
    click.echo(report.summary())


def _say_feed(report) -> None:
    if report.error:
        click.echo(f"qa: warning: feed {report.url}: {report.error}", err=True)
    elif report.unchanged:
        click.echo(f"{report.url}: no new articles")
    else:
        summaries = f" ({report.summaries} only as the feed's summary)" if report.summaries else ""
        click.echo(f"{report.url}: {report.new} new or changed articles{summaries}")


def update_and_build(settings: Settings, policy, only: str = "") -> int:
    """Update every feed (or `only` one), then build when any brought articles in: the number of new articles."""
    reports = _feed_list(settings).update(policy, on_feed=_say_feed, only=only)
    new = sum(r.new for r in reports)
    if new:
        _rebuild(settings)
    return new


@main.group()
def feeds() -> None:
    """Follow news feeds (RSS/Atom): each update brings their new articles into the knowledge base."""


@feeds.command("add")
@click.argument("url")
@changes_knowledge_base
def feeds_add(url, corpus, index_dir, store, collection, model, no_private) -> None:
    """Follow the feed at URL, then bring its articles in and update the index."""
    settings = _settings(corpus, index_dir, store, collection, model)
    feed = _feed_list(settings).add(url, _policy(no_private))
    click.echo(f"following {feed.title} ({feed.url})")
    update_and_build(settings, _policy(no_private), only=feed.url)


@feeds.command("list")
@corpus_option
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the feeds as JSON.")
@reports_errors
def feeds_list(corpus, index_dir, store, collection, as_json) -> None:
    """The followed feeds: last update, new articles then, and the last error."""
    listed = _feed_list(_settings(corpus, index_dir, store, collection, None)).feeds()
    if as_json:
        rows = [{k: v for k, v in asdict(f).items() if k not in ("items", "etag", "last_modified")} for f in listed]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not listed:
        click.echo("no feeds followed: add one with `qa feeds add URL`")
    for f in listed:
        state = f"error: {f.error}" if f.error else f"{f.new} new at the last update"
        click.echo(f"{f.title} <{f.url}> — updated {f.checked or 'never'}; {state}; {f.articles} articles in all")


@feeds.command("remove")
@click.argument("url")
@corpus_option
@index_option
@reports_errors
def feeds_remove(url, corpus, index_dir, store, collection) -> None:
    """Stop following the feed at URL (the articles it brought in stay)."""
    feed = _feed_list(_settings(corpus, index_dir, store, collection, None)).remove(url)
    click.echo(f"no longer following {feed.title} ({feed.url}); its {feed.articles} articles stay")


@feeds.command("update")
@changes_knowledge_base
def feeds_update(corpus, index_dir, store, collection, model, no_private) -> None:
    """Update every feed once, then the index (only new or changed articles are embedded)."""
    update_and_build(_settings(corpus, index_dir, store, collection, model), _policy(no_private))


@main.command()
@click.option("--every", default="30m", show_default=True, help="Time between updates: 90s, 30m, 2h, 1d.")
@changes_knowledge_base
def watch(every, corpus, index_dir, store, collection, model, no_private) -> None:
    """Keep the feeds updated: update them all, build, wait, again (Ctrl+C to stop). A running
    `qa chat` over the same index answers from the new articles after each build."""
    from qa.ingest.feeds import parse_every

    seconds = parse_every(every)
    settings = _settings(corpus, index_dir, store, collection, model)
    click.echo(f"watching {len(_feed_list(settings).feeds())} feeds every {every} (Ctrl+C to stop)", err=True)
    try:
        while True:
            update_and_build(settings, _policy(no_private))
            time.sleep(seconds)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@main.command("add")
@click.argument("url")
@changes_knowledge_base
def add_url(url, corpus, index_dir, store, collection, model, no_private) -> None:
    """Fetch the web page at URL, add its article to the knowledge base, and update the index."""
    from qa.ingest.web_articles import add_web_page, knowledge_folder

    settings = _settings(corpus, index_dir, store, collection, model)
    path, title = add_web_page(knowledge_folder(settings.corpus), url, _policy(no_private))
    click.echo(f"added 《{title}》 as {path}")
    _rebuild(settings)
