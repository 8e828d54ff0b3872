"""A knowledge base that changes under a running engine: the writer lock, hot reload, adding and
removing files. Builds run for real (the CLI as a subprocess where the lock is the subject)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from qa.config import Settings
from qa.errors import BuildRunningError, PermissionRefusedError, UploadError
from qa.index.build import build
from qa.locking import index_lock, lock_holder
from qa.serve.knowledge_base import KnowledgeBase, safe_name
from qa.serve.live import LiveEngine

from .conftest import DATA, ROOT, TEST_ENV, run_qa

NEW_ARTICLE = """# 光谷科技馆新馆开放

中国网 11月20日 讯（记者 张华）

光谷科技馆新馆于11月20日正式对外开放，新馆建筑面积达4.2万平方米。
首日共接待观众8600人次，其中青少年观众占六成。
"""


@pytest.fixture()
def seeded(tmp_path: Path, corpus_copy: Path, seed_index_dir: Path, e5):
    """Settings over a writable copy of the seeds and of their e5 index (rebuilds embed only what changed)."""
    shutil.copytree(seed_index_dir, tmp_path / "index")
    return Settings(corpus=(corpus_copy,), index_dir=tmp_path / "index"), e5


def test_a_second_writer_waits_or_fails_plainly(tmp_path):
    index_dir = tmp_path / "index"
    order: list[str] = []
    with index_lock(index_dir, what="first"):
        with pytest.raises(BuildRunningError, match=rf"another build of .* is running \(pid {os.getpid()}"):
            with index_lock(index_dir, wait=False):
                pass
        waiting = threading.Event()

        def second() -> None:
            with index_lock(index_dir, what="second", on_wait=lambda holder: waiting.set()):
                order.append("second")

        thread = threading.Thread(target=second)
        thread.start()
        assert waiting.wait(10)  # it noticed the first writer and waits
        order.append("first")
    thread.join(10)
    assert order == ["first", "second"]
    assert lock_holder(index_dir) == {}  # released: nobody named


def test_qa_build_waits_for_a_running_build_and_no_wait_refuses(tmp_path, corpus_copy):
    index_dir = tmp_path / "index"
    args = ("build", "--corpus", str(corpus_copy), "--index", str(index_dir))
    with index_lock(index_dir, what="a test holding the lock"):
        refused = run_qa(*args, "--no-wait")
        assert refused.returncode == 2
        assert f"another build of {index_dir} is running (pid {os.getpid()}" in refused.stderr
        waiting = subprocess.Popen([sys.executable, "-m", "qa", *args, "--json"], cwd=ROOT, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **TEST_ENV})
        line = waiting.stderr.readline()
        assert "another build of this index is running" in line and "a test holding the lock" in line
        assert waiting.poll() is None and not index_dir.exists()  # it waits, and wrote nothing
    out, err = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, err
    assert '"articles": 3' in out


def test_a_killed_build_leaves_the_old_index_and_no_stuck_lock(tmp_path, corpus_copy):
    index_dir = tmp_path / "index"
    run_qa("build", "--corpus", str(corpus_copy), "--index", str(index_dir), check=True)
    news = (DATA / "natural" / "news.jsonl").read_text(encoding="utf-8").splitlines()[:8]
    (corpus_copy / "more.jsonl").write_text("\n".join(news) + "\n", encoding="utf-8")  # new text: seconds to embed
    build_process = subprocess.Popen(
        [sys.executable, "-m", "qa", "build", "--corpus", str(corpus_copy), "--index", str(index_dir)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **TEST_ENV})
    # The known point: the build holds the lock and has started embedding the new chunks (its
    # progress bar appears before the first batch is embedded).
    said = b""
    while b"embedding passages" not in said:
        piece = os.read(build_process.stderr.fileno(), 256)
        assert piece, f"the build ended before embedding: {said.decode(errors='replace')}"
        said += piece
    assert lock_holder(index_dir).get("pid") == build_process.pid
    build_process.kill()
    build_process.wait(timeout=30)
    build_process.stderr.close()
    assert lock_holder(index_dir).get("pid") == build_process.pid  # the dead holder is still named…

    asked = run_qa("ask", "中欧班列这次装载的货物要运往哪个国家？", "--index", str(index_dir), check=True)
    assert "俄罗斯" in asked.stdout  # the previous index still answers
    rebuilt = run_qa("build", "--corpus", str(corpus_copy), "--index", str(index_dir), "--no-wait", "--json",
                     check=True)  # …but its lock died with it
    assert '"articles": 11' in rebuilt.stdout
    assert not index_dir.with_name("index.new").exists()


def test_live_engine_answers_from_a_rebuilt_index_and_old_questions_keep_theirs(seeded, corpus_copy):
    settings, embedder = seeded
    live = LiveEngine(settings, embedder=embedder)
    before = live.current()
    assert live.current() is before  # nothing changed: nothing reloaded
    assert before.ask("光谷科技馆新馆的建筑面积是多少？").abstained
    (corpus_copy / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    build(settings, progress=False, embedder=embedder)
    after = live.current()
    assert after is not before and live.reloads == 1
    answer = after.ask("光谷科技馆新馆的建筑面积是多少？")
    assert "4.2万平方米" in answer.text and answer.citations[0].title == "光谷科技馆新馆开放"
    assert before.store.manifest.chunks < after.store.manifest.chunks  # the old engine still holds the old index


def test_knowledge_base_adds_files_inside_the_corpus_under_free_names(seeded, corpus_copy):
    settings, embedder = seeded
    knowledge_base = KnowledgeBase(LiveEngine(settings, embedder=embedder))
    first = knowledge_base.add("../../光谷科技馆.md", NEW_ARTICLE.encode())
    second = knowledge_base.add("..\\..\\光谷科技馆.md", NEW_ARTICLE.encode("gb18030"))
    assert first.path == corpus_copy / "光谷科技馆.md" and first.articles == 1
    assert second.path == corpus_copy / "光谷科技馆-2.md"  # never overwrites
    assert first.path.read_text(encoding="utf-8") == NEW_ARTICLE
    assert not list(corpus_copy.parent.glob("*.md")) and not list(corpus_copy.glob(".*"))
    report = knowledge_base.rebuild()
    assert report.articles == 5
    titles = [a.title for a in knowledge_base.articles("科技馆")]
    assert titles == ["光谷科技馆新馆开放", "光谷科技馆新馆开放"]
    assert "4.2万平方米" in knowledge_base.live.current().ask("光谷科技馆新馆的建筑面积是多少？").text


def test_knowledge_base_refuses_bad_files_and_changes_nothing(seeded, corpus_copy):
    settings, embedder = seeded
    knowledge_base = KnowledgeBase(LiveEngine(settings, embedder=embedder))
    files_before = sorted(p.name for p in corpus_copy.iterdir())
    with pytest.raises(UploadError, match="not an article"):
        knowledge_base.add("report.md", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    with pytest.raises(UploadError, match="empty"):
        knowledge_base.add("empty.txt", b"")
    knowledge_base.max_upload_mb = 0.001
    with pytest.raises(UploadError, match="over the 0.001 MB limit"):
        knowledge_base.add("big.md", NEW_ARTICLE.encode() * 10)
    assert sorted(p.name for p in corpus_copy.iterdir()) == files_before


def test_knowledge_base_removes_an_article_file_and_nothing_outside(seeded, corpus_copy):
    settings, embedder = seeded
    knowledge_base = KnowledgeBase(LiveEngine(settings, embedder=embedder))
    knowledge_base.add("科技馆.md", NEW_ARTICLE.encode())
    knowledge_base.rebuild()
    question = "光谷科技馆新馆的建筑面积是多少？"
    assert not knowledge_base.live.current().ask(question).abstained
    with pytest.raises(UploadError, match="not a file of the corpus folder"):
        knowledge_base.remove(f"{corpus_copy.name}/../../etc/passwd")
    target = knowledge_base.articles("科技馆")[0]
    assert target.path == f"{corpus_copy.name}/科技馆.md" and target.chunks == 1
    removed = knowledge_base.remove(target.path)
    assert not removed.exists() and removed.parent == corpus_copy.resolve()
    knowledge_base.rebuild()
    assert knowledge_base.articles("科技馆") == [] and len(knowledge_base.articles()) == 3
    assert knowledge_base.live.current().ask(question).abstained


def test_a_read_only_knowledge_base_says_why(seeded):
    settings, embedder = seeded
    knowledge_base = KnowledgeBase(LiveEngine(settings, embedder=embedder), editable=False,
                                   refusal="start with --auth to change the articles")
    with pytest.raises(PermissionRefusedError, match="--auth"):
        knowledge_base.add("new.md", NEW_ARTICLE.encode())
    with pytest.raises(PermissionRefusedError):
        knowledge_base.remove(knowledge_base.articles()[0].path)


def test_safe_name_keeps_names_plain():
    assert safe_name("../../x.md", ".md") == "x.md"
    assert safe_name("C:\\Users\\a\\报告.PDF", ".pdf") == "报告.pdf"
    assert safe_name(".hidden.md", ".md") == "hidden.md"
    assert safe_name("a<b>|c\x00.txt", ".txt") == "a_b_c.txt"
    assert safe_name("...", ".md") == "upload.md"
