"""Train the extractive reader (qa/answer/reader.py) on chunks as the answer step sees them.

Every passage is cut into the product's chunks (`qa.ingest.chunking.split_article`, 160 characters);
a question is paired with the chunk that holds its answer (answerable) and, as negatives, with
chunks that hold none: its own near miss (the news set's unanswerable questions, against the two
chunks of their article that share most with the question), or another chunk of its passage.

    python scripts/train_reader.py --sets drcd,xquad,chronoqa:1600,news*2 --epochs 1 --no-bf16 --out runs/no-cmrc
    python scripts/train_reader.py --out runs/no-cmrc          # resumes from runs/no-cmrc/checkpoint.pt
    python scripts/train_reader.py --sets "cmrc,news,news2,forms*3,news4,news5,news6,xquad" --epochs 1 --no-bf16 \
        --followups as-read --init runs/no-cmrc/checkpoint.pt --lr 5e-5 --head-lr 5e-4 --out runs/stage2f  # shipped
    python scripts/train_reader.py --evaluate runs/no-cmrc/reader.npz --sets cmrc

Fixed seed, progress to stdout, a checkpoint every --checkpoint-minutes (model, optimiser,
schedule, position in the data), resumed from automatically. Writes `reader.npz` (int8 layers,
see `qa.answer.reader.save_weights`) and `metrics.json` beside the checkpoint.
"""
from __future__ import annotations

import argparse
import ast
import csv
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.answer.e5_file import E5File  # noqa: E402
from qa.answer.reader import (  # noqa: E402
    MAX_LENGTH,
    WindowEncoder,
    batch_inputs,
    build_model,
    save_weights,
)
from qa.eval.news_qa import load_news, load_records  # noqa: E402
from qa.ingest.chunking import split_article  # noqa: E402
from qa.ingest.corpus import Article  # noqa: E402
from qa.search.followup import after_earlier, needs_context, resolve_followup, with_nouns_of  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SETS = {"cmrc": DATA / "cmrc2018/dev.json", "drcd": DATA / "drcd/dev.json", "xquad": DATA / "xquad/xquad.zh.json",
        "chronoqa": DATA / "chronoqa/chronoqa.csv", "news": ROOT / "data/news_qa/train.jsonl",
        "news2": ROOT / "data/news_qa/train2.jsonl",  # the second round of news labels (train only)
        "forms": ROOT / "data/news_forms/train.jsonl",  # yes/no and why/how news questions (train split)
        "news4": ROOT / "data/news_train/round4.jsonl",  # the fourth round (stage 2c, and the shipped stage 2f)
        "news5": ROOT / "data/news_train/round5.jsonl",  # the fifth round (the shipped stage 2f)
        "news6": ROOT / "data/news_train/round6.jsonl",  # the sixth round (the shipped stage 2f)
        "news7": ROOT / "data/news_train/round7.jsonl",  # the seventh round
        "news8": ROOT / "data/news_train/round8.jsonl",  # the eighth: follow-ups, values side by side
        "news-dev": ROOT / "data/news_qa/dev.jsonl", "chinese-squad": DATA / "chinese_squad/dev-v2.0-zh.json"}
NEWS = DATA / "news/crud_news_10k.jsonl.gz"
RETRIEVED = ROOT / "data/news_negatives/retrieved.jsonl"  # scripts/news_qa/retrieved_negatives.py
CHUNK_SIZE = 160


@dataclass(frozen=True)
class Example:
    """A question read against one chunk; answer = [start, end) in the chunk, or None."""
    source: str
    group: str  # the question's id: its examples are judged together
    question: str
    passage: str
    answer: tuple[int, int] | None


def training_chunks(text: str) -> list[str]:
    """A passage cut into the product's chunks, as the reader reads them (a mined retrieved negative
    names its chunk by its index here)."""
    return [c.text for c in split_article(Article(id="x", title="", text=text), CHUNK_SIZE)]


def _answer_examples(source: str, group: str, question: str, text: str, answers: list[str],
                     rng: random.Random, negatives: float) -> list[Example]:
    """The chunk holding an answer (first such), and with probability `negatives` a chunk holding none."""
    chunks = training_chunks(text)
    out = []
    for chunk in chunks:
        found = [(chunk.find(a), a) for a in answers if a and a in chunk]
        if found:
            at, answer = min(found, key=lambda f: (f[0], len(f[1])))
            out.append(Example(source, group, question, chunk, (at, at + len(answer))))
            break
    empty = [c for c in chunks if not any(a in c for a in answers)]
    if out and empty and rng.random() < negatives:
        out.append(Example(source, group, question, rng.choice(empty), None))
    return out


def bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def squad_examples(name: str, path: Path, rng: random.Random, negatives: float) -> list[Example]:
    """CMRC, DRCD (to Simplified), XQuAD; ChineseSquad's unanswerable questions against their own chunks."""
    from qa.ingest.text import _t2s

    convert = _t2s().convert if name == "drcd" else (lambda s: s)
    examples = []
    for entry in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in entry["paragraphs"]:
            context = convert(paragraph["context"])
            for qa in paragraph["qas"]:
                question = convert(qa["question"])
                answers = [convert(a["text"]) for a in qa.get("answers", []) if a.get("text")]
                if answers:
                    examples += _answer_examples(name, str(qa["id"]), question, context, answers, rng, negatives)
                else:  # an unanswerable question: the chunk that shares most with it
                    best = max(training_chunks(context), key=lambda c: len(bigrams(c) & bigrams(question)))
                    examples.append(Example(name, str(qa["id"]), question, best, None))
    return examples


def chronoqa_examples(path: Path, rng: random.Random, negatives: float) -> list[Example]:
    """ChronoQA questions whose answer occurs word for word in a golden chunk."""
    examples = []
    with path.open(encoding="utf-8", newline="") as rows:
        for number, row in enumerate(csv.DictReader(rows)):
            answer = str(row["answer"]).strip()
            chunks = ast.literal_eval(row["golden_chunks"])
            holding = [c for c in chunks if answer and answer in c]
            if holding:
                examples += _answer_examples("chronoqa", f"chrono{number}", row["question"].strip(),
                                             holding[0], [answer], rng, negatives)
    return examples


def as_read(record: dict, followups: str, rng: random.Random) -> str:
    """A labeled question as the answer step reads it. A follow-up is read rewritten
    (`resolve_followup`) or, when it does not find its article alone, after the earlier question's
    nouns (`with_nouns_of`): `followups="rewritten"` always trains on the first (runs before
    2026-12-07), `"as-read"` draws one of the two at random. `"joined"` trains on the follow-up after
    the whole earlier question (`after_earlier`), as the answer step then reads a follow-up
    (`followup.read_after`): always when it cannot stand alone (`needs_context`), else half the time
    (the answer step reads it alone when it finds its article alone)."""
    question, history = record["question"], record["history"]
    if followups == "joined" and history:
        return after_earlier(question, history) if needs_context(question) or rng.random() < 0.5 else question
    if followups == "as-read" and history and rng.random() < 0.5:
        return with_nouns_of(history[-1], question)
    return resolve_followup(question, history)


def retrieved_negatives(path: Path) -> dict[str, tuple[int, int]]:
    """(article line, chunk index) of the retrieved negative mined for each question of a label file."""
    label_file = str(Path(path).resolve().relative_to(ROOT))
    return {r["id"]: (r["article"], r["chunk"]) for r in load_records(RETRIEVED) if r["set"] == label_file}


def news_examples(path: Path, rng: random.Random, negatives: float, name: str = "news",
                  followups: str = "rewritten", retrieved: float = 0.0) -> list[Example]:
    """The labeled news questions; a near miss is read against its article's two closest chunks. With
    `retrieved`, that share of the answerable ones is also read against the chunk of another article
    that a search ranks highest without holding the answer (`RETRIEVED`)."""
    news = load_news(NEWS)
    mined = retrieved_negatives(path) if retrieved else {}
    examples = []
    for record in load_records(path):
        question = as_read(record, followups, rng)
        text = news[record["article"]]["text"]
        if record["answers"]:
            examples += _answer_examples(name, record["id"], question, text, record["answers"], rng, negatives)
            if record["id"] in mined and rng.random() < retrieved:
                line, index = mined[record["id"]]
                examples.append(Example(name, record["id"], question, training_chunks(news[line]["text"])[index], None))
        else:
            ranked = sorted(training_chunks(text), key=lambda c: -len(bigrams(c) & bigrams(question)))
            examples += [Example(name, record["id"], question, chunk, None) for chunk in ranked[:2]]
    return examples


def load_examples(names: list[str], seed: int, negatives: float, followups: str = "rewritten",
                  retrieved: float = 0.0) -> list[Example]:
    """The examples of the named sets; "news*2" reads a set twice (other negatives drawn the second
    time), "chronoqa:1600" keeps a random 1,600 of its examples."""
    rng = random.Random(seed)
    examples = []
    for spec in names:
        spec, _, cap = spec.partition(":")
        name, _, times = spec.partition("*")
        path = SETS[name]
        for _ in range(int(times or 1)):
            if name == "chronoqa":
                part = chronoqa_examples(path, rng, negatives)
            elif name.startswith("news") or name == "forms":
                part = news_examples(path, rng, negatives, name, followups, retrieved)
            else:
                part = squad_examples(name, path, rng, negatives)
            examples += rng.sample(part, min(int(cap), len(part))) if cap else part
    return examples


def token_targets(window, answer: tuple[int, int] | None) -> tuple[int, int] | None:
    """Start and end token of the answer in the window ((0, 0) for none); None if it was cut off."""
    if answer is None:
        return 0, 0
    start, end = answer
    tokens = [i for i, (s, e) in enumerate(window.spans) if e > start and s < end]
    if not tokens:
        return None
    return window.passage_from + tokens[0], window.passage_from + tokens[-1]


def encode_all(encoder: WindowEncoder, examples: list[Example]) -> list[tuple]:
    """(window, target, question number) of each example whose answer fits its window; a question's
    examples are made one after the other, so consecutive examples of one group share a number (a set
    read twice gives each reading its own)."""
    encoded, number, previous = [], -1, None
    for example in examples:
        if (example.source, example.group, example.question) != previous:
            number, previous = number + 1, (example.source, example.group, example.question)
        window = encoder.encode(example.question, example.passage, MAX_LENGTH)
        target = token_targets(window, example.answer)
        if target is not None:
            encoded.append((window, target, number))
    return encoded


def batches(items: list, size: int, rng: random.Random) -> list[list]:
    """Shuffled batches of similar length (less padding)."""
    order = list(range(len(items)))
    rng.shuffle(order)
    pools = [order[i:i + size * 50] for i in range(0, len(order), size * 50)]
    out = []
    for pool in pools:
        pool.sort(key=lambda i: len(items[i][0].ids))
        out += [pool[i:i + size] for i in range(0, len(pool), size)]
    rng.shuffle(out)
    return out


def question_batches(items: list, size: int, rng: random.Random) -> list[list]:
    """Shuffled batches of up to `size` windows that keep each question's windows together (for
    `shared_loss`), questions of similar length side by side."""
    questions: dict[int, list[int]] = {}
    for i, (_, _, number) in enumerate(items):
        questions.setdefault(number, []).append(i)
    order = list(questions.values())
    rng.shuffle(order)
    out = []
    for at in range(0, len(order), size * 30):
        pool = sorted(order[at:at + size * 30], key=lambda q: max(len(items[i][0].ids) for i in q))
        batch: list[int] = []
        for question in pool:
            if batch and len(batch) + len(question) > size:
                out.append(batch)
                batch = []
            batch += question
        out += [batch] if batch else []
    rng.shuffle(out)
    return out


def shared_loss(start, end, targets, numbers, allowed):
    """The answer's start and end against every passage token of all the windows its question is read
    with, each token scored over its own window's "no answer" (as the answer step compares the spans of
    several hits: `Span.margin`); questions read with one window or with none holding the answer add
    nothing. Clark and Gardner's shared normalisation (2018), on the margins."""
    import torch

    losses = []
    for number in sorted(set(numbers)):
        rows = [r for r, n in enumerate(numbers) if n == number]
        gold = [r for r in rows if tuple(targets[r]) != (0, 0)]
        if len(rows) < 2 or not gold:
            continue
        passage = allowed[rows].clone()
        passage[:, 0] = False  # <s> is "no answer", not a token to compare
        for logits, side in ((start, 0), (end, 1)):
            margins = (logits[rows] - logits[rows, :1]).masked_fill(~passage, -1e4)
            at = rows.index(gold[0]) * margins.shape[1] + int(targets[gold[0], side])
            losses.append(torch.nn.functional.cross_entropy(margins.reshape(1, -1), torch.tensor([at])))
    return torch.stack(losses).mean() if losses else None


def layers_of(state: dict) -> dict:
    """A checkpoint's parameters without the 1-row word-embedding stub that checkpoints written with
    transformers' BertModel (before 2026-12) hold: the network takes its word embeddings as input."""
    return {name: value for name, value in state.items() if "word_embeddings" not in name}


def train(args: argparse.Namespace) -> None:
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state_path, config_path = out / "checkpoint.pt", out / "config.json"
    if config_path.exists():  # resuming: the run's own settings win
        saved = json.loads(config_path.read_text())
        for key in ("sets", "epochs", "batch", "lr", "head_lr", "seed", "negatives", "limit", "init", "followups",
                    "retrieved_negatives", "shared_norm"):
            setattr(args, key, saved.get(key, getattr(args, key)))
    else:
        config_path.write_text(json.dumps(vars(args), indent=1, default=str))
    e5 = E5File()
    examples = load_examples(args.sets.split(","), args.seed, args.negatives, args.followups,
                             args.retrieved_negatives)
    if args.limit:
        examples = random.Random(args.seed).sample(examples, min(args.limit, len(examples)))
    items = encode_all(WindowEncoder(e5), examples)
    answerable = sum(1 for _, t, _ in items if t != (0, 0))
    print(f"{len(items)} windows ({answerable} answerable) from {args.sets}", flush=True)
    rng = random.Random(args.seed)
    batching = question_batches if args.shared_norm else batches
    plan = [b for _ in range(args.epochs) for b in batching(items, args.batch, rng)]
    if args.max_steps:
        plan = plan[:args.max_steps]
    model = build_model(e5)
    head = [p for n, p in model.named_parameters() if n.startswith("span")]
    body = [p for n, p in model.named_parameters() if not n.startswith("span")]  # word embeddings: not in it
    optimiser = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.head_lr}],
                                  weight_decay=0.01)
    warmup = max(1, len(plan) // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (len(plan) - step) / (len(plan) - warmup))))
    step = 0
    if state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        model.load_state_dict(layers_of(state["model"]))
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step} of {len(plan)}", flush=True)
    elif args.init:  # a second stage: start from another run's float32 layers, with a fresh optimiser
        model.load_state_dict(layers_of(torch.load(args.init, map_location="cpu", weights_only=False)["model"]))
        print(f"started from {args.init}", flush=True)
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    saved_at = time.time()
    running = 0.0
    while step < len(plan):
        batch = [items[i] for i in plan[step]]
        embeds, mask, allowed = map(torch.from_numpy, batch_inputs(e5, [w for w, _, _ in batch]))
        targets = torch.tensor([t for _, t, _ in batch])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            start, end = model(embeds, mask)
        start = start.float().masked_fill(~allowed, -1e4)
        end = end.float().masked_fill(~allowed, -1e4)
        loss = (loss_fn(start, targets[:, 0]) + loss_fn(end, targets[:, 1])) / 2
        shared = shared_loss(start, end, targets, [n for _, _, n in batch], allowed) if args.shared_norm else None
        if shared is not None:
            loss = loss + args.shared_norm * shared
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        step += 1
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 50 == 0 or step == len(plan):
            print(f"step {step}/{len(plan)} loss {running:.3f} {time.strftime('%H:%M:%S')}", flush=True)
        if time.time() - saved_at > args.checkpoint_minutes * 60 or step == len(plan):
            torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                        "schedule": schedule.state_dict(), "step": step, "torch_rng": torch.get_rng_state()},
                       state_path.with_suffix(".tmp"))
            state_path.with_suffix(".tmp").replace(state_path)
            saved_at = time.time()
            print(f"checkpoint at step {step}", flush=True)
    save_weights(model.state_dict(), out / "reader.npz")
    # how the answer step must read follow-ups with these weights (reader_curve.py --write adds the thresholds)
    reading = "joined" if args.followups == "joined" else "as-read"
    (out / "reader.json").write_text(json.dumps({"followups": reading}, indent=1) + "\n")
    print(f"wrote {out / 'reader.npz'}", flush=True)


def auroc(positive: list[float], negative: list[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positive or not negative:
        return float("nan")
    ranked = sorted([(s, 1) for s in positive] + [(s, 0) for s in negative])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum(1 for k in range(i, j) if ranked[k][1]) * (i + j + 1) / 2
        i = j
    n_pos, n_neg = len(positive), len(negative)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def evaluate(args: argparse.Namespace) -> dict:
    """Span hit on answer chunks and answerability AUROC (answer chunks against near misses and
    answerless chunks), per set, with the reader in `args.evaluate`."""
    import torch

    from qa.answer.reader import Reader
    from qa.answer.reader_network import TorchSpanNetwork

    torch.set_num_threads(args.threads)
    if Path(args.evaluate).name == "checkpoint.pt":  # a run's float32 layers, before int8 packing
        e5 = E5File()
        model = build_model(e5)
        model.load_state_dict(layers_of(torch.load(args.evaluate, map_location="cpu", weights_only=False)["model"]))
        reader = Reader(TorchSpanNetwork(model, bf16=args.bf16), e5)
    else:
        reader = Reader.load(Path(args.evaluate), threads=args.threads)
    results = {}
    for name in args.sets.split(","):
        examples = load_examples([name], args.seed, 1.0)
        if args.limit:
            examples = random.Random(args.seed).sample(examples, min(args.limit, len(examples)))
        hits, positive, negative = [], [], []
        for at in range(0, len(examples), 32):
            part = examples[at:at + 32]
            spans = [span for group in _by_question(part) for span in
                     reader.read(group[0].question, [e.passage for e in group])]
            ordered = [e for group in _by_question(part) for e in group]
            for example, span in zip(ordered, spans):
                if example.answer:
                    gold = example.passage[example.answer[0]:example.answer[1]]
                    hits.append(gold in span.text or (span.text and span.text in gold and len(span.text) >= len(gold) / 2))
                    positive.append(span.margin)
                else:
                    negative.append(span.margin)
        results[name] = {"answerable": len(positive), "unanswerable": len(negative),
                         "span_hit": round(sum(hits) / max(1, len(hits)), 4),
                         "auroc": round(auroc(positive, negative), 4)}
        print(name, results[name], flush=True)
    return results


def _by_question(examples: list[Example]) -> list[list[Example]]:
    groups: dict[tuple[str, str], list[Example]] = {}
    for example in examples:
        groups.setdefault((example.group, example.question), []).append(example)
    return list(groups.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="cmrc,drcd,xquad,chronoqa,news")
    parser.add_argument("--out", default="runs/reader")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--negatives", type=float, default=0.5, help="share of answerable questions also read against an answerless chunk")
    parser.add_argument("--retrieved-negatives", type=float, default=0.0,
                        help="share of answerable news questions also read against another article's chunk that "
                             "BM25 ranks highest without the answer (data/news_negatives/retrieved.jsonl)")
    parser.add_argument("--shared-norm", type=float, default=0.0,
                        help="weight of a loss comparing the answer's margin with every token's of all the windows its "
                             "question is read with (batches keep a question's windows together; 0: off)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--limit", type=int, default=0, help="train on this many examples (tests)")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (tests)")
    parser.add_argument("--init", help="a checkpoint.pt of another run to start from (a second stage)")
    parser.add_argument("--followups", choices=("rewritten", "as-read", "joined"), default="rewritten",
                        help="news follow-ups: rewritten by resolve_followup, or half of them after the earlier question's "
                             "nouns (as-read), or after the whole earlier question (joined)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--evaluate", help="a reader.npz (or a run's float32 checkpoint.pt) to measure instead of training")
    parser.add_argument("--json", help="write the evaluation here")
    args = parser.parse_args()
    if args.evaluate:
        results = evaluate(args)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
    else:
        train(args)


if __name__ == "__main__":
    main()
