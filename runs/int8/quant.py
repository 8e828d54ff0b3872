"""Experiment: ONNX Runtime dynamic int8 (weights per channel, activations per tensor at run time)."""
import sys, time
sys.path.insert(0, "/work/main"); sys.path.insert(0, "/work/r8")
from pathlib import Path
import numpy as np, onnx, onnxruntime
from onnx import numpy_helper


def inline(model_bytes, external):
    m = onnx.load_from_string(model_bytes)
    inits = []
    for t in m.graph.initializer:
        if t.name in external:
            inits.append(numpy_helper.from_array(external[t.name], t.name))
        else:
            inits.append(t)
    for n in m.graph.node:
        n.name = n.output[0] + "|" + ",".join(n.input)
    del m.graph.initializer[:]
    m.graph.initializer.extend(inits)
    return m


def quantized_file(weights, config, kind, out):
    from onnxruntime.quantization import quantize_dynamic, QuantType
    from fused import fused_graph
    from qa.answer.reader_graph import span_graph
    model, external = (fused_graph if kind == "fused" else span_graph)(weights, config)
    src = out + ".f32.onnx"
    m = inline(model, external)
    import os
    keep = [k for k in os.environ.get("KEEP_FP32", "").split(",") if k]  # e.g. "output.dense" (FFN out)
    exclude = [n.name for n in m.graph.node if any(f".{k}.weight" in n.name for k in keep)]
    print("fp32 nodes kept:", len(exclude), file=__import__("sys").stderr)
    onnx.save(m, src)
    quantize_dynamic(src, out, nodes_to_exclude=exclude, per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Gemm", "Attention"], extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return out


class QuantNetwork:
    def __init__(self, weights, config, threads=0, kind="fused"):
        path = quantized_file(weights, config, kind, f"/tmp/reader-int8-{kind}.onnx")
        o = onnxruntime.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1
        o.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(path, o, providers=["CPUExecutionProvider"])
        self.kind = kind
        self.added = (weights["encoder.embeddings.position_embeddings.weight"]
                      + weights["encoder.embeddings.token_type_embeddings.weight"][0]).astype(np.float32)

    def __call__(self, words, mask):
        batch, length, hidden = words.shape
        x = (words + self.added[:length]).astype(np.float32, copy=False)
        if self.kind == "fused":
            feeds = {"x": x, "mask": mask.astype(np.int32)}
        else:
            feeds = {"x": x.reshape(-1, hidden), "bias": np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32),
                     "heads": np.array([batch, length, 12, hidden // 12], dtype=np.int64)}
        logits = self.session.run(["logits"], feeds)[0].reshape(batch, length, 2)
        return logits[..., 0], logits[..., 1]


if __name__ == "__main__":
    from qa.answer.e5_file import E5File
    from qa.answer.reader import load_weights
    from qa.answer.reader_graph import OnnxSpanNetwork
    e5 = E5File(); w = load_weights(Path("/work/main/qa/models/reader.npz"))
    nets = {"plain": OnnxSpanNetwork(w, e5.config, 2)}
    for kind in sys.argv[1:]:
        nets["int8-" + kind] = QuantNetwork(w, e5.config, 2, kind)
    lengths = [137, 120, 101, 137, 90]; B, L = 5, 137
    rng = np.random.default_rng(0); words = rng.normal(0, .05, (B, L, 384)).astype(np.float32)
    mask = np.zeros((B, L), np.int64)
    for i, n in enumerate(lengths): mask[i, :n] = 1
    ref = nets["plain"](words, mask)
    for name, net in nets.items():
        out = net(words, mask)
        t = []
        for _ in range(30):
            s = time.perf_counter(); net(words, mask); t.append(time.perf_counter() - s)
        print(name, "p50 ms", round(1000 * float(np.median(t)), 1), "max diff", float(np.abs(out[0] - ref[0])[mask > 0].max()))
