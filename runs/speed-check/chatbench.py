"""bench.py's chat lines alone (one repeat), under the environment given."""
import json, subprocess, sys, tempfile, os
from pathlib import Path
sys.path.insert(0, "/work/main")
from benchmarks import bench
from qa.eval.datasets import load_squad
dataset = load_squad(bench.CMRC)
articles = dataset.articles[:100]
chosen = {a.id for a in articles}
questions = [q.question for q in dataset.questions if q.gold in chosen][:200]
bench.ENV.update({k: v for k, v in (a.split("=", 1) for a in sys.argv[2:])})
with tempfile.TemporaryDirectory() as tmp:
    corpus = Path(tmp) / "corpus"; corpus.mkdir()
    (corpus / "cmrc.jsonl").write_text("\n".join(json.dumps({"title": a.title, "text": a.text}, ensure_ascii=False) for a in articles), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index", str(Path(tmp) / "index")],
                   cwd="/work/main", env=bench.ENV, check=True, capture_output=True)
    out = bench.bench_chat(Path(tmp) / "index", corpus, questions, 1)
print(sys.argv[2:], json.dumps({k: round(v, 2) for k, v in out.items()}))
json.dump(out, open(sys.argv[1], "w"), indent=2)
