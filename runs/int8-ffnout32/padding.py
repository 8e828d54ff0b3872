"""How much of the reader's batch is padding, on the news dev's questions as the engine reads them."""
import json, sys, numpy as np
sys.path.insert(0, "/work/main")
from pathlib import Path
import qa.answer.reader as R
from qa.config import Settings
from qa.eval.datasets import load_dataset
sys.path.insert(0, "/work/main/scripts")
from reader_curve import open_engine
seen = []
orig = R.batch_inputs
def spy(e5, windows):
    seen.append([len(w.ids) for w in windows]); return orig(e5, windows)
R.batch_inputs = spy
ds = load_dataset(Path("/work/main/data/news_qa/dev.jsonl"))
settings = Settings.load()
engine = open_engine(ds, settings, Path(".cache/eval"), False)
engine.reader.wait()
for q in ds.questions[:150]:
    engine.ask(q.question)
real = sum(sum(s) for s in seen); padded = sum(len(s) * max(s) for s in seen)
print("reads", len(seen), "passages/read", np.mean([len(s) for s in seen]), "tokens/read", real / len(seen), "padded/read", padded / len(seen), "padding share", 1 - real / padded)
