"""The web chat started for real (`qa chat` on 127.0.0.1), driven by gradio_client and headless Chromium."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import SEEDS, ask_in_page, needs_chromium, run_qa, served_chat

XSS_ARTICLE = """# 网页安全测试<script>alert('title')</script>

来源：测试网

这篇文章包含脚本<script>alert('body')</script>和图片<img src=x onerror=alert('img')>，用于检验网页安全显示。
检验的结果是页面只显示文字，不执行任何脚本。
"""


SCIENCE_ARTICLE = """# 光谷科技馆新馆开放

中国网 11月20日 讯（记者 张华）

光谷科技馆新馆于11月20日正式对外开放，新馆建筑面积达4.2万平方米。
首日共接待观众8600人次，其中青少年观众占六成。
"""


@pytest.fixture(scope="module")
def chat_corpus(tmp_path_factory):
    """The served articles: the seeds plus an article full of HTML."""
    corpus = tmp_path_factory.mktemp("chat") / "articles"
    shutil.copytree(SEEDS, corpus)
    (corpus / "xss.md").write_text(XSS_ARTICLE, encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def chat_url(chat_corpus):
    """`qa chat` over `chat_corpus`, built on start-up."""
    with served_chat(chat_corpus.parent, "--corpus", str(chat_corpus), "--index",
                     str(chat_corpus.parent / "index")) as url:
        yield url


def test_auth_requires_the_login_and_the_api_its_key(seed_index_dir, tmp_path):
    import openai
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    with served_chat(tmp_path, "--index", str(seed_index_dir), "--corpus", str(tmp_path / "none"),
                     "--auth", "editor:secret", "--api-key", "sk-test-key") as url:
        with pytest.raises(AuthenticationError):
            Client(url, verbose=False)
        answer = Client(url, auth=("editor", "secret"), verbose=False).predict("华为公司轮值董事长是谁？", api_name="/ask")
        assert "胡厚崑" in answer["answer"]
        with pytest.raises(openai.AuthenticationError, match="invalid or missing API key"):
            openai.OpenAI(base_url=f"{url}v1", api_key="wrong", max_retries=0).models.list()
        keyed = openai.OpenAI(base_url=f"{url}v1", api_key="sk-test-key", max_retries=0)
        assert [m.id for m in keyed.models.list()] == ["xinwen-qa"]


@pytest.fixture(scope="module")
def client(chat_url):
    from gradio_client import Client

    return Client(chat_url, verbose=False)


def test_api_ask_returns_the_cli_json(client):
    answer = client.predict("大会设置了哪些实物交互体验展示区？", api_name="/ask")
    assert set(answer) >= {"question", "answer", "abstained", "citations"}
    assert not answer["abstained"] and "实物交互体验展示区" in answer["answer"]
    assert answer["citations"][0]["title"] == "2024 中国 5G+ 工业互联网大会在武汉开幕"
    assert "实物交互体验展示区" in answer["citations"][0]["quote"]


def test_api_ask_takes_the_conversation_for_follow_ups(client):
    first = client.predict("湖北前三季度经济增长多少？", [], api_name="/ask")
    assert "5.7%" in first["answer"]
    follow_up = client.predict("那武汉呢？", ["湖北前三季度经济增长多少？"], api_name="/ask")
    assert follow_up["abstained"]  # the articles give no figure for Wuhan
    resolved = client.predict("他是哪个城市的市长？", ["盛阅春在大会上介绍了什么？"], api_name="/ask")
    assert "武汉" in resolved["answer"] and "盛阅春" in resolved["answer"]


def test_api_ask_reads_time_as_of_a_date(client):
    from gradio_client.exceptions import AppError

    answer = client.predict("11月19日开幕的大会设置了哪些实物交互体验展示区？", [], "2024-11-29", api_name="/ask")
    assert "实物交互体验展示区" in answer["answer"] and answer["citations"][0]["date"] == "2024-11-19"
    with pytest.raises(AppError, match="give a date as YYYY-MM-DD"):
        client.predict("去年的大会", [], "2024/13/01", api_name="/ask")


def test_empty_question_is_a_readable_error_and_the_server_keeps_serving(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="the question is empty"):
        client.predict("   ", api_name="/ask")
    assert client.predict("中欧班列这次装载的货物要运往哪个国家？", api_name="/ask")["citations"]


def test_openai_client_gets_a_cited_answer(chat_url):
    import openai

    client = openai.OpenAI(base_url=f"{chat_url}v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["xinwen-qa"]
    response = client.chat.completions.create(
        model="xinwen-qa", messages=[{"role": "user", "content": "中欧班列这次装载的货物要运往哪个国家？"}])
    text = response.choices[0].message.content
    assert "俄罗斯" in text and "[1]" in text and response.choices[0].finish_reason == "stop"
    citation = response.citations[0]  # structured, beside the message
    assert citation["n"] == 1 and citation["title"] == "江西中欧班列累计开行突破2000列" and "俄罗斯" in citation["quote"]


def test_openai_client_streams_and_follows_the_conversation(chat_url):
    import openai

    client = openai.OpenAI(base_url=f"{chat_url}v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(model="xinwen-qa", stream=True, messages=[
        {"role": "system", "content": "你是新闻助手"},
        {"role": "user", "content": "盛阅春在大会上介绍了什么？"},
        {"role": "assistant", "content": "盛阅春介绍武汉市相关情况。[1]"},
        {"role": "user", "content": "他是哪个城市的市长？"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len(chunks) > 3 and "盛阅春" in text and "武汉" in text  # "他" is 盛阅春, from the earlier user turn
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].citations[0]["quote"] in text
    with pytest.raises(openai.BadRequestError, match="the question is empty"):
        client.chat.completions.create(model="xinwen-qa", messages=[{"role": "user", "content": "  "}])


def test_qa_serve_is_the_api_without_the_page(seed_index_dir, tmp_path):
    import urllib.error
    import urllib.request

    import openai

    with served_chat(tmp_path, "--index", str(seed_index_dir), command="serve") as url:
        client = openai.OpenAI(base_url=f"{url}v1", api_key="unused", max_retries=0)
        reply = client.chat.completions.create(model="xinwen-qa",
                                               messages=[{"role": "user", "content": "洪桥街道属于哪个县？"}])
        assert reply.citations and "[1]" in reply.choices[0].message.content
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(url, timeout=10)


def test_sixteen_users_at_once_are_all_answered(chat_url):
    from gradio_client import Client

    questions = ["中欧班列这次装载的货物要运往哪个国家？", "谁主持了大会开幕式？", "洪桥街道属于哪个县？",
                 "大会设置了哪些实物交互体验展示区？"] * 4

    def ask(question: str) -> dict:
        return Client(chat_url, verbose=False).predict(question, api_name="/ask")

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        answers = list(pool.map(ask, questions))
    assert len(answers) == 16 and all(a["citations"] for a in answers)
    assert all("俄罗斯" in a["answer"] for a in answers[::4])


def test_a_slow_llm_stream_holds_nobody_else_up(seed_index_dir, tmp_path):
    import openai
    from gradio_client import Client

    from . import llm_server

    server, llm_url = llm_server.start()
    llm_server.Handler.release.clear()
    llm_server.Handler.holding.clear()
    try:
        with served_chat(tmp_path, "--index", str(seed_index_dir), "--corpus", str(tmp_path / "none"),
                         env={"QA_LLM_BASE_URL": llm_url, "QA_LLM_MODEL": "hold"}) as url:
            api = openai.OpenAI(base_url=f"{url}v1", api_key="unused", max_retries=0)
            with ThreadPoolExecutor(max_workers=1) as pool:
                held = pool.submit(lambda: list(api.chat.completions.create(
                    model="xinwen-qa", stream=True,
                    messages=[{"role": "user", "content": "中欧班列这次装载的货物要运往哪个国家？"}])))
                assert llm_server.Handler.holding.wait(60)  # that answer is now stuck in the LLM
                other = Client(url, verbose=False).predict("谁主持了大会开幕式？", api_name="/ask")
                stream = api.chat.completions.create(model="xinwen-qa", stream=True, messages=[
                    {"role": "user", "content": "2030年世界杯在哪里举办？"}])  # refused: no LLM needed
                refused = list(stream)
                assert not held.done()  # both were answered while the first one waits for the LLM
                llm_server.Handler.release.set()
                chunks = held.result(timeout=60)
        assert other["citations"] and not other["abstained"]
        assert refused[-1].abstained
        assert "俄罗斯谢利亚季诺[1]" in "".join(c.choices[0].delta.content or "" for c in chunks)
    finally:
        llm_server.Handler.release.set()
        server.shutdown()


def test_a_build_in_another_terminal_is_answered_from_without_a_restart(chat_url, chat_corpus, client):
    question = "光谷科技馆新馆首日接待了多少观众？"
    assert client.predict(question, api_name="/ask")["abstained"]
    (chat_corpus / "science.md").write_text(SCIENCE_ARTICLE, encoding="utf-8")
    run_qa("build", "--corpus", str(chat_corpus), "--index", str(chat_corpus.parent / "index"), check=True)
    answer = client.predict(question, api_name="/ask")
    assert not answer["abstained"] and "8600人次" in answer["answer"]
    assert answer["citations"][0]["title"] == "光谷科技馆新馆开放"


# --- headless Chromium -------------------------------------------------------------------------

@pytest.fixture()
def page(browser, chat_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    page.goto(chat_url)
    yield page
    page.close()


def _ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    page.locator("#sources .source, #sources .empty-sources ul").first.wait_for(timeout=60_000)


@needs_chromium
def test_browser_question_shows_cited_answer_and_sources(page):
    _ask(page, "中欧班列这次装载的货物要运往哪个国家？")
    chat = page.locator("#chat").inner_text()
    assert "俄罗斯" in chat and "[1]" in chat
    sources = page.locator("#sources").inner_text()
    assert "江西中欧班列累计开行突破2000列" in sources and "2024-11-19" in sources
    assert "俄罗斯" in page.locator("#sources mark").first.inner_text()


@needs_chromium
def test_browser_follow_up_and_clear(page):
    _ask(page, "盛阅春在大会上介绍了什么？")
    page.locator("#sources .source").first.wait_for()
    ask_in_page(page, "他是哪个城市的市长？")  # the answer in, not only the question shown
    assert "武汉" in page.locator("#chat").inner_text()
    page.locator("#clear").click()
    page.wait_for_function("!document.querySelector('#chat').innerText.includes('市长')", timeout=10_000)
    assert "提问后" in page.locator("#sources").inner_text()


@needs_chromium
def test_browser_shows_html_in_articles_and_questions_as_text(page):
    _ask(page, "网页安全测试检验的结果是什么<img src=x onerror=alert('q')>？")
    page.wait_for_timeout(1000)
    assert page.dialogs == []
    assert page.locator("#chat img[src='x']").count() == 0
    assert "onerror" in page.locator("#chat").inner_text()  # the question, shown as typed
    sources = page.locator("#sources")
    assert "<script>alert('title')</script>" in sources.inner_text()
    assert sources.locator("script").count() == 0


@needs_chromium
def test_browser_shows_html_in_the_article_list_as_text(page):
    page.get_by_role("tab", name="资料库").click()
    listing = page.locator("#kb-list")
    listing.locator("[role=gridcell]:visible", has_text="网页安全测试").first.wait_for(timeout=20_000)
    page.wait_for_timeout(500)
    assert "<script>alert('title')</script>" in listing.inner_text()
    assert listing.locator("script").count() == 0 and page.dialogs == []


@needs_chromium
def test_browser_empty_question_shows_a_message_and_the_chat_goes_on(page):
    page.locator("#send").click()
    page.locator("#chat").get_by_text("问题为空：请输入一个问题。").first.wait_for(timeout=20_000)
    _ask(page, "华为公司轮值董事长是谁？")
    assert "胡厚崑" in page.locator("#chat").inner_text()
