"""Experiment: the plain reader graph with chosen linears as DynamicQuantizeMatMul on the shipped int8 rows."""
import os, re, sys
sys.path.insert(0, "/work/main")
import numpy as np
import qa.answer.reader_graph as rg

KEEP = [k for k in os.environ.get("KEEP_FP32", "").split(",") if k]  # regexes of linears kept in float32


def packed_of(path):
    with np.load(path, allow_pickle=False) as p:
        return {k: p[k] for k in p.files}


class Int8Writer(rg._GraphWriter):
    packed = None

    def linear(self, x, name):
        from onnx import helper
        if name == "span" or any(re.search(k, name) for k in KEEP):
            return super().linear(x, name)
        q = self.packed[f"{name}.weight/int8"]
        s = self.packed[f"{name}.weight/scale"].astype(np.float32).reshape(-1)
        out = f"dqmm_{len(self.nodes)}"
        self.nodes.append(helper.make_node("DynamicQuantizeMatMul",
            [x, self.constant(f"{name}.qt", np.ascontiguousarray(q.T)), self.constant(f"{name}.s", s), "",
             self.constant(f"{name}.b", self.weights[f"{name}.bias"].astype(np.float32))], [out], domain="com.microsoft"))
        return out


_orig_span_graph = rg.span_graph


def span_graph(weights, config):
    from onnx import helper
    saved = rg._GraphWriter
    rg._GraphWriter = Int8Writer
    try:
        model, external = _orig_span_graph(weights, config)
    finally:
        rg._GraphWriter = saved
    import onnx
    m = onnx.load_from_string(model)
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return m.SerializeToString(), external


def install(weights_path):
    Int8Writer.packed = packed_of(weights_path)
    rg.span_graph = span_graph


if __name__ == "__main__":
    import time
    from pathlib import Path
    from qa.answer.e5_file import E5File
    from qa.answer.reader import load_weights
    path = Path("/work/main/qa/models/reader.npz")
    e5 = E5File(); w = load_weights(path)
    plain = rg.OnnxSpanNetwork(w, e5.config, 2)
    install(path)
    q = rg.OnnxSpanNetwork(w, e5.config, 2)
    lengths = [137, 120, 101, 137, 90]; B, L = 5, 137
    rng = np.random.default_rng(0); words = rng.normal(0, .05, (B, L, 384)).astype(np.float32)
    mask = np.zeros((B, L), np.int64)
    for i, n in enumerate(lengths): mask[i, :n] = 1
    ref = plain(words, mask)
    for name, net in (("fp32", plain), ("int8", q)):
        out = net(words, mask); t = []
        for _ in range(30):
            s0 = time.perf_counter(); net(words, mask); t.append(time.perf_counter() - s0)
        print(name, KEEP, "p50 ms", round(1000 * float(np.median(t)), 1), "max diff", float(np.abs(out[0] - ref[0])[mask > 0].max()))
