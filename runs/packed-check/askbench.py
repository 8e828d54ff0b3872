"""Median engine.ask time over the seed index's questions (reader on), as served."""
import json, statistics, sys, time, os
sys.path.insert(0, "/work/main")
from pathlib import Path
from qa.config import Settings
from qa.answer.engine import Engine
from qa.eval.datasets import load_dataset
sys.path.insert(0, "/work/main/scripts")
from reader_curve import open_engine
ds = load_dataset(Path("/work/main/data/news_qa/dev.jsonl"))
engine = open_engine(ds, Settings.load(), Path(".cache/eval"), False)
engine.reader.wait()
qs = [q.question for q in ds.questions[:120]]
for q in qs[:10]: engine.ask(q)
runs = []
for _ in range(2):
    t = []
    for q in qs:
        s = time.perf_counter(); engine.ask(q); t.append(time.perf_counter() - s)
    runs.append(t)
per = [statistics.median(v) for v in zip(*runs)]
print(os.environ.get("LABEL", ""), os.environ.get("QA_READER_ARITHMETIC", "float32"), "p50 ms", round(1000 * statistics.median(per), 1))
