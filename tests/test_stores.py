"""The stores behind one interface: Milvus Lite answers the seeds as the default store does, updates
touch only what changed, and `--store` / `--collection` work on every command."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from qa.answer.engine import Engine
from qa.config import Settings
from qa.index.build import build, index_is_current
from qa.index.incremental import build_index
from qa.index.stores import FORMAT_VERSION, Location
from qa.index.stores.base import article_num_of
from qa.ingest.corpus import Article, load_articles, make_article
from qa.ingest.text import lexical_terms

from .conftest import (
    DATA,
    NEWS,
    SEEDS,
    HashingEmbedder,
    _free_port,
    needs_chromium,
    read_jsonl,
    run_qa,
    served_chat,
)

pytestmark = pytest.mark.slow
AS_OF = date(2024, 12, 1)


@pytest.fixture(scope="module")
def milvus_seeds(tmp_path_factory, e5):
    """The seeds built into Milvus Lite with the real e5 model."""
    where = tmp_path_factory.mktemp("milvus")
    location = Location(where / "index", uri=str(where / "qa.db"), collection="seeds")
    build_index(load_articles([SEEDS]).articles, location, e5, 160, 1, progress=False)
    return location


@pytest.fixture(scope="module")
def milvus_engine(milvus_seeds, e5):
    engine = Engine.open(Settings(store=milvus_seeds.uri, collection="seeds"), embedder=e5)
    return engine


def _questions():
    asked = [(q["question"], []) for q in read_jsonl(DATA / "seed_questions.jsonl")]
    natural = [q for q in read_jsonl(DATA / "natural" / "questions.jsonl") if (q.get("title") or "").startswith(("2024", "湖北", "中欧"))]
    return asked + [(q["question"], q.get("history", [])) for q in natural[:40]]


def test_milvus_lite_answers_the_seeds_as_the_default_store_does(engine, milvus_engine):
    questions = _questions()
    assert len(questions) > 60
    for question, history in questions:
        local = engine.ask(question, history, as_of=AS_OF).to_json()
        milvus = milvus_engine.ask(question, history, as_of=AS_OF).to_json()
        assert milvus == local, question


@pytest.mark.parametrize("store", ["engine", "milvus_engine"])
def test_a_large_store_searches_both_sides_at_once_and_finds_the_same(request, store, monkeypatch):
    """Above PARALLEL_ABOVE chunks a hybrid search runs its dense side on a worker thread while BM25
    runs on the caller's: the same hits with the same scores, for several callers at once (as the
    chat's), from either store."""
    engine = request.getfixturevalue(store)
    questions = [question for question, _ in _questions()]
    one_after_the_other = [engine.retriever.search(q, 5) for q in questions]
    monkeypatch.setattr("qa.search.retrieval.PARALLEL_ABOVE", 0)
    with ThreadPoolExecutor(4) as callers:
        side_by_side = list(callers.map(lambda q: engine.retriever.search(q, 5), questions))
    assert side_by_side == one_after_the_other


def test_both_stores_hold_the_same_records(engine, milvus_engine):
    local, milvus = engine.store, milvus_engine.store
    assert [a.listing() for a in milvus.articles()] == [a.listing() for a in local.articles()]
    terms = lexical_terms("中欧班列这次装载的货物要运往哪个国家？")
    assert milvus.term_weights(terms) == pytest.approx(local.term_weights(terms))
    lexical_local, lexical_milvus = local.lexical_search(terms, 10), milvus.lexical_search(terms, 10)
    assert [k for k, _ in lexical_milvus] == [k for k, _ in lexical_local]
    assert [s for _, s in lexical_milvus] == pytest.approx([s for _, s in lexical_local], rel=1e-4)
    vector = engine.retriever.query_vector("湖北经济总量达到多少？")
    assert [k for k, _ in milvus.dense_search(vector, 10)] == [k for k, _ in local.dense_search(vector, 10)]
    keys = [k for k, _ in lexical_local]
    assert milvus.chunks(keys) == local.chunks(keys)
    assert milvus.chunk_vectors(keys) == pytest.approx(local.chunk_vectors(keys))
    nums = sorted({article_num_of(k) for k in keys})
    assert milvus.sentences_of(nums) == local.sentences_of(nums)
    chunk = local.chunks(keys[:1])[keys[0]]
    assert milvus.passage_containing(chunk.article_id, chunk.start, chunk.end) == chunk


def test_milvus_updates_touch_only_the_changed_articles(tmp_path, seed_articles):
    location = Location(tmp_path / "index", uri=str(tmp_path / "qa.db"), collection="updates")
    embedder = HashingEmbedder()
    first = build_index(seed_articles, location, embedder, 160, 1, progress=False)
    store = location.open()
    build = store.manifest.backend["build"]
    extra = Article(id="new1", title="新增文章", text="今天新开了一家图书馆。馆内藏书十万册。")
    added = build_index([*seed_articles, extra], location, embedder, 160, 1, progress=False)
    assert (added.embedded, added.reused, added.sentences_embedded) == (1, first.chunks, 2)
    store = location.open()
    assert store.manifest.backend["build"] == build and store.manifest.generation == 2  # updated in place
    [(key, _)] = store.lexical_search(["图书馆"], 1)
    assert store.chunks([key])[key].article_id == "new1"
    removed = build_index(seed_articles[1:], location, embedder, 160, 1, progress=False)
    assert removed.removed == 2 and removed.embedded == 0
    store = location.open()
    assert {a.id for a in store.articles()} == {a.id for a in seed_articles[1:]}
    found = store.chunks([k for k, _ in store.lexical_search(lexical_terms("工业互联网 图书馆 中欧班列"), 50)])
    assert {c.article_id for c in found.values()} <= {a.id for a in seed_articles[1:]}


WIRE = make_article("wire/x.md", "德国二季度经济停滞", "人民网柏林7月28日电 （记者刘仲华、张慧中）德国联邦统计局28日公布数据。")


@pytest.mark.parametrize("milvus", [False, True])
def test_both_stores_keep_the_outlet_and_reporters(tmp_path, seed_articles, milvus):
    location = Location(tmp_path / "index", uri=str(tmp_path / "qa.db") if milvus else "", collection="bylines")
    build_index([*seed_articles, WIRE], location, HashingEmbedder(), 160, 1, progress=False)
    store = location.open()
    credited = {a.title: (a.source, a.reporters) for a in store.articles()}
    assert credited["2024 中国 5G+ 工业互联网大会在武汉开幕"] == ("中国网", ("王瑞芳",))
    assert credited["洪桥街道：加速“一户一档”构建，助推“全民参保”进程"] == ("中国新报", ("罗志雄",))
    assert credited["江西中欧班列累计开行突破2000列"] == ("", ())
    assert credited[WIRE.title] == ("人民网", ("刘仲华", "张慧中"))
    assert [a.title for a in store.articles_by_byline("张慧中")] == [WIRE.title]
    assert [a.title for a in store.articles_by_byline("中国新报")] == ["洪桥街道：加速“一户一档”构建，助推“全民参保”进程"]
    assert store.articles_by_byline("张慧") == store.articles_by_byline("张三") == []


@pytest.mark.parametrize("milvus", [False, True])
def test_both_stores_keep_where_an_articles_text_came_from(tmp_path, seed_articles, milvus):
    """OCR'd text and a feed's summary are said beside their quotes: the store keeps the origin and the address."""
    location = Location(tmp_path / "index", uri=str(tmp_path / "qa.db") if milvus else "", collection="origins")
    shot = replace(seed_articles[0], origin="ocr")
    summary = replace(WIRE, origin="summary", url="https://example.com/news/1.html")
    build_index([shot, summary, *seed_articles[1:]], location, HashingEmbedder(), 160, 1, progress=False)
    kept = {a.title: (a.origin, a.url) for a in location.open().articles()}
    assert kept[shot.title] == ("ocr", "") and kept[WIRE.title] == ("summary", "https://example.com/news/1.html")
    assert {kept[a.title][0] for a in seed_articles[1:]} == {""}


def test_an_index_of_the_format_before_origins_answers_then_is_rebuilt_without_embedding(tmp_path, corpus_copy):
    settings = Settings(corpus=(corpus_copy,), index_dir=tmp_path / "index")
    build(settings, progress=False, embedder=HashingEmbedder())
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))
    (tmp_path / "index" / "manifest.json").write_text(json.dumps({**manifest, "format": 4}), encoding="utf-8")
    with sqlite3.connect(tmp_path / "index" / "store.db") as db:
        db.execute("ALTER TABLE articles DROP COLUMN origin")
    old = Location(tmp_path / "index").open()
    assert [a.origin for a in old.articles()] == ["", "", ""] and old.articles()[0].reporters == ("王瑞芳",)
    again = build(settings, progress=False, embedder=HashingEmbedder())
    assert (again.embedded, again.sentences_embedded) == (0, 0)
    assert Location(tmp_path / "index").open().manifest.format == FORMAT_VERSION


def test_an_index_chunked_before_numbers_were_kept_whole_is_rebuilt_without_embedding(tmp_path, corpus_copy):
    """Format 6 changed only where an over-long sentence is cut (never inside "1,800"): a format-5 index
    answers, is out of date, and `qa build` rechunks it, embedding only chunks whose text changed."""
    settings = Settings(corpus=(corpus_copy,), index_dir=tmp_path / "index")
    first = build(settings, progress=False, embedder=HashingEmbedder())
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))
    (tmp_path / "index" / "manifest.json").write_text(json.dumps({**manifest, "format": 5}), encoding="utf-8")
    assert len(Location(tmp_path / "index").open().articles()) == 3 and not index_is_current(settings)
    again = build(settings, progress=False, embedder=HashingEmbedder())
    assert (again.embedded, again.sentences_embedded, again.chunks) == (0, 0, first.chunks)
    assert Location(tmp_path / "index").open().manifest.format == FORMAT_VERSION and index_is_current(settings)


def test_an_index_of_the_format_before_reporters_answers_then_is_rebuilt_without_embedding(tmp_path, corpus_copy):
    """A format-3 index (articles without reporters) still opens and answers; `qa build` sees it is out of
    date and rebuilds it in full, reusing every vector, and the reporters are then known."""
    settings = Settings(corpus=(corpus_copy,), index_dir=tmp_path / "index")
    first = build(settings, progress=False, embedder=HashingEmbedder())
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))
    (tmp_path / "index" / "manifest.json").write_text(json.dumps({**manifest, "format": 3}), encoding="utf-8")
    with sqlite3.connect(tmp_path / "index" / "store.db") as db:
        db.execute("ALTER TABLE articles DROP COLUMN reporters")
    old = Location(tmp_path / "index").open()
    assert [a.reporters for a in old.articles()] == [(), (), ()]
    assert [a.source for a in old.articles_by_byline("中国网")] == ["中国网"] and old.articles_by_byline("王瑞芳") == []
    assert not index_is_current(settings)
    again = build(settings, progress=False, embedder=HashingEmbedder())
    assert (again.embedded, again.sentences_embedded, again.chunks) == (0, 0, first.chunks)
    rebuilt = Location(tmp_path / "index").open()
    assert rebuilt.manifest.format == FORMAT_VERSION and index_is_current(settings)
    assert [a.title for a in rebuilt.articles_by_byline("王瑞芳")] == ["2024 中国 5G+ 工业互联网大会在武汉开幕"]


def test_store_and_collection_on_every_command(tmp_path):
    db = str(tmp_path / "qa.db")
    built = json.loads(run_qa("build", "--corpus", str(NEWS), "--store", db, "--collection", "news", "--json",
                              check=True).stdout)
    assert built["articles"] == 5
    asked = json.loads(run_qa("ask", "神舟十九号载人飞船什么时候发射？", "--store", db, "--collection", "news",
                              "--json", check=True).stdout)
    assert asked["citations"] and not asked["abstained"]
    missing = run_qa("ask", "问题", "--store", db, "--collection", "finance")
    assert missing.returncode != 0 and "qa build --store" in missing.stderr and "Traceback" not in missing.stderr
    bad = run_qa("ask", "问题", "--collection", "财经")
    assert bad.returncode != 0 and "collection name" in bad.stderr


def test_named_collections_of_the_default_store_live_beside_it(tmp_path, corpus_copy):
    index = str(tmp_path / "embeddings")
    run_qa("build", "--corpus", str(corpus_copy), "--index", index, check=True)
    run_qa("build", "--corpus", str(NEWS), "--index", index, "--collection", "news", check=True)
    assert Location(tmp_path / "embeddings").collections() == ["default", "news"]
    assert (tmp_path / "embeddings-collections" / "news" / "manifest.json").is_file()
    asked = json.loads(run_qa("ask", "神舟十九号载人飞船什么时候发射？", "--index", index, "--collection", "news",
                              "--json", check=True).stdout)
    assert all(c["title"] != "2024 中国 5G+ 工业互联网大会在武汉开幕" for c in asked["citations"])


@needs_chromium
def test_the_chat_lists_the_collections_and_answers_from_the_chosen_one(tmp_path, corpus_copy, browser):
    import openai
    from gradio_client import Client
    from playwright.sync_api import expect

    index = str(tmp_path / "embeddings")
    run_qa("build", "--corpus", str(corpus_copy), "--index", index, check=True)
    run_qa("build", "--corpus", str(NEWS), "--index", index, "--collection", "news", check=True)
    question = "神舟十九号载人飞船什么时候发射？"
    with served_chat(tmp_path, "--corpus", str(corpus_copy), "--index", index) as url:
        client = Client(url, verbose=False)
        from_news = client.predict(question, [], None, "news", api_name="/ask")
        assert from_news["citations"] and "神舟" in from_news["citations"][0]["title"]
        assert not any("神舟" in c["title"] for c in client.predict(question, api_name="/ask")["citations"])
        api = openai.OpenAI(base_url=f"{url}v1", api_key="none", max_retries=0)
        reply = api.chat.completions.create(model="xinwen-qa", messages=[{"role": "user", "content": question}],
                                            extra_body={"collection": "news"})
        assert "神舟" in reply.model_extra["citations"][0]["title"]
        with pytest.raises(openai.BadRequestError, match="no collection 'finance'.*qa build --collection finance"):
            api.chat.completions.create(model="xinwen-qa", messages=[{"role": "user", "content": question}],
                                        extra_body={"collection": "finance"})
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.locator("#question textarea").fill("大会在哪里开幕？")
        page.locator("#send").click()
        page.locator("#sources .source").first.wait_for(timeout=60_000)
        page.locator("#collection input").click()
        page.get_by_role("option", name="news").click()
        page.wait_for_function("document.querySelector('#collection input').value === 'news'")
        expect(page.locator("#sources .source")).to_have_count(0)  # another knowledge base, a new conversation
        expect(page.locator("#chat")).not_to_contain_text("武汉")
        page.locator("#question textarea").fill(question)
        page.locator("#send").click()
        page.locator("#sources .source").first.wait_for(timeout=60_000)
        assert "神舟" in page.locator("#sources").inner_text()
        page.close()


def test_a_milvus_server_serves_while_another_process_updates_it(tmp_path, corpus_copy):
    """`--store http://…`: a Milvus server (Milvus Lite's gRPC server standing in for Standalone):
    `qa serve` and `qa build` in separate processes on one store, the update answered from at once."""
    import openai

    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("milvus-lite")), "server", "--data-dir",
                               str(tmp_path / "milvus"), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        where = ["--store", uri, "--collection", "kb"]
        run_qa("build", "--corpus", str(corpus_copy), *where, check=True)
        question = "神舟十九号载人飞船什么时候发射？"
        with served_chat(tmp_path, *where, command="serve") as url:
            api = openai.OpenAI(base_url=f"{url}v1", api_key="none", max_retries=0)
            ask = lambda: api.chat.completions.create(  # noqa: E731
                model="xinwen-qa", messages=[{"role": "user", "content": question}]).model_extra
            assert ask()["abstained"]
            shutil.copy(NEWS / "shenzhou.md", corpus_copy / "shenzhou.md")
            report = json.loads(run_qa("build", "--corpus", str(corpus_copy), *where, "--json", check=True).stdout)
            assert report["embedded"] == report["chunks"] - report["reused"] > 0
            answer = ask()
            assert not answer["abstained"] and "神舟" in answer["citations"][0]["title"]
    finally:
        server.terminate()
        server.wait(timeout=60)
