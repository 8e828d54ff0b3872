"""bench.py's query lines alone (the same index, questions and repeats as `make bench`)."""
import json, subprocess, sys, tempfile
from pathlib import Path
sys.path.insert(0, "/work/main")
from benchmarks import bench
from qa.eval.datasets import load_squad
dataset = load_squad(bench.CMRC)
articles = dataset.articles[:100]
chosen = {a.id for a in articles}
questions = [q.question for q in dataset.questions if q.gold in chosen][:200]
with tempfile.TemporaryDirectory() as tmp:
    corpus = Path(tmp) / "corpus"; corpus.mkdir()
    (corpus / "cmrc.jsonl").write_text("\n".join(json.dumps({"title": a.title, "text": a.text}, ensure_ascii=False) for a in articles), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index", str(Path(tmp) / "index")],
                   cwd="/work/main", env=bench.ENV, check=True, capture_output=True)
    out = bench.bench_queries(Path(tmp) / "index", questions, 3)
print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}, indent=0))
json.dump(out, open(sys.argv[1], "w"), indent=2)
