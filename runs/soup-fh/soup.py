"""Average the float32 layers of several runs' checkpoints (a uniform model soup)."""
import json, sys
from pathlib import Path
import torch
sys.path.insert(0, "/work/main/scripts"); sys.path.insert(0, "/work/main")
from qa.answer.reader import save_weights
from train_reader import layers_of
out = Path(sys.argv[1]); runs = sys.argv[2:]
states = [layers_of(torch.load(f"{r}/checkpoint.pt", map_location="cpu", weights_only=False)["model"]) for r in runs]
soup = {k: sum(s[k].float() for s in states) / len(states) for k in states[0]}
out.mkdir(parents=True, exist_ok=True)
save_weights(soup, out / "reader.npz")
(out / "reader.json").write_text(json.dumps({"followups": "as-read"}, indent=1) + "\n")
print("wrote", out, "from", runs)
