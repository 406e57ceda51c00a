"""Model shapes: transformer architectures as frozen dataclasses.

A ``ModelSpec`` holds only the shape (no weights): enough to list every weight tensor
with its size and count parameters (``simlow.specs.tensors``), size the KV cache and build
the op graph. Read from ``workloads/models/*.yaml`` (schema below), a Hugging Face
``config.json`` or a GGUF header (``simlow.specs.hf``, ``simlow.specs.gguf_header``).

YAML schema (version 1)::

    schema_version: 1
    name: llama-2-7b                   # equals the file stem
    title: Llama 2 7B
    family: llama
    source: "https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json"
    params: 6738415616                 # published parameter count (checked by the tests)
    params_rounding: 0                 # optional: the published count is rounded to this step
                                       # (2.41 B -> 10000000); 0 = exact
    vocab_size: 32000
    hidden_size: 4096
    layers: 32
    heads: 32
    kv_heads: 32
    head_dim: 128                      # optional: hidden_size / heads
    intermediate_size: 11008
    ffn: gated                         # gated (gate, up, down) | plain (up, down)
    max_context: 4096
    tied_embeddings: false
    attention_bias: false              # biases on q, k, v
    attention_out_bias: false
    mlp_bias: false
    norm: rms                          # rms (weight only) | layer (weight and bias)
    norms_per_layer: 2                 # hidden-wide norms per layer (gemma-2: 4)
    qk_norm: false                     # per-head q/k norms (qwen3)
    ffn_sub_norm: false                # an intermediate-wide norm before down (bitnet)
    attn_sub_norm: false               # a hidden-wide norm before o (bitnet)
    sliding_window: {size: 4096, every: 2}   # optional: window layers; every k-th layer is global
    global_attention:                  # optional (Gemma 4): the global layers' own attention shape
      kv_heads: 4                      # num_global_key_value_heads
      head_dim: 512                    # global_head_dim (queries too: heads x 512)
      k_eq_v: true                     # attention_k_eq_v: V is the K projection (no attn_v)
    attention_sinks: false             # one learned logit per head per layer (gpt-oss)
    rope_freqs: false                  # a head_dim/2 rope scaling table (llama 3.1+ GGUFs)
    mla:                               # optional: multi-head latent attention (DeepSeek-V2/V3)
      kv_lora_rank: 512                # the cached latent; kv_heads defaults to 1 and head_dim
      q_lora_rank: 1536                # to nope + rope; 0 or absent: a full-rank q projection
      qk_nope_head_dim: 128
      qk_rope_head_dim: 64
      v_head_dim: 128
    moe:                               # optional
      experts: 8
      top_k: 2
      expert_intermediate_size: 14336
      shared_experts: 0
      shared_intermediate_size: 0
      dense_layers: 0                  # the first N layers use a dense FFN
      expert_bias: false
      router_bias: false
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from simlow.errors import SimlowError
from simlow.specs.attention import MLA, AttentionShape, GlobalAttention
from simlow.specs.yamlfile import Reader, open_spec

SCHEMA_VERSION = 1

# Upper bounds on a shape, several times what any published model has, so that a typo such
# as ``layers: 1000000000`` is refused at load instead of making every per-layer loop hang.
# Largest published values: Llama 3.1 405B (126 layers, hidden 16384, 128 heads; Meta's
# config.json), PaLM 540B (hidden 18432, FFN 73728; Chowdhery et al. 2022, table 1), Gemma 3
# (vocabulary 262144), Llama 4 Scout (10M-token context), Switch-C (2048 experts; Fedus et
# al. 2021).
LIMITS: dict[str, int] = {
    "layers": 1024, "hidden_size": 1 << 17, "heads": 4096, "kv_heads": 4096, "head_dim": 1 << 14,
    "intermediate_size": 1 << 20, "vocab_size": 1 << 22, "max_context": 1 << 28,
    "norms_per_layer": 16, "params_rounding": 1 << 40,
    "moe.experts": 1 << 16, "moe.top_k": 1 << 16, "moe.expert_intermediate_size": 1 << 20,
    "moe.shared_experts": 1 << 16, "moe.shared_intermediate_size": 1 << 20, "moe.dense_layers": 1024,
    "sliding_window.size": 1 << 28, "sliding_window.every": 1024,
    "mla.kv_lora_rank": 1 << 16, "mla.q_lora_rank": 1 << 16, "mla.qk_nope_head_dim": 1 << 14,
    "mla.qk_rope_head_dim": 1 << 14, "mla.v_head_dim": 1 << 14,
    "global_attention.kv_heads": 4096, "global_attention.head_dim": 1 << 14,
}


class TensorClass(enum.Enum):
    """Which part of the model a weight tensor belongs to (schemes choose formats by it)."""

    EMBEDDING = "embedding"
    ATTN_Q = "attn_q"
    ATTN_K = "attn_k"
    ATTN_V = "attn_v"
    ATTN_O = "attn_o"
    ATTN_Q_A = "attn_q_a"           # multi-head latent attention (GGUF names): q down-projection
    ATTN_Q_B = "attn_q_b"           # q up-projection
    ATTN_KV_A = "attn_kv_a_mqa"     # hidden -> latent + shared rope key
    ATTN_K_B = "attn_k_b"           # per head, q_nope -> latent (absorbed key up-projection)
    ATTN_V_B = "attn_v_b"           # per head, latent -> value (value up-projection)
    FFN_GATE = "ffn_gate"
    FFN_UP = "ffn_up"
    FFN_DOWN = "ffn_down"
    EXPERT_GATE = "expert_gate"
    EXPERT_UP = "expert_up"
    EXPERT_DOWN = "expert_down"
    SHARED_GATE = "shared_gate"
    SHARED_UP = "shared_up"
    SHARED_DOWN = "shared_down"
    ROUTER = "router"
    NORM = "norm"
    BIAS = "bias"
    LM_HEAD = "lm_head"
    ROPE = "rope"

    @property
    def group(self) -> str:
        """The coarser group a scheme may name instead: attention, ffn, experts, ..."""
        v = self.value
        if v.startswith("attn_"):
            return "attention"
        if v.startswith("expert_"):
            return "experts"
        if v.startswith(("ffn_", "shared_")):
            return "ffn"
        return v

    @property
    def is_expert(self) -> bool:
        """A routed expert's weight (read top-k of n per token)."""
        return self in (TensorClass.EXPERT_GATE, TensorClass.EXPERT_UP, TensorClass.EXPERT_DOWN)


class FfnKind(enum.StrEnum):
    """The feed-forward block: ``gated`` (gate, up, down: SwiGLU / GeGLU) or ``plain`` (up, down)."""
    GATED = "gated"
    PLAIN = "plain"


class NormKind(enum.StrEnum):
    """The norm: ``rms`` (weight only) or ``layer`` (LayerNorm: weight and bias)."""
    RMS = "rms"
    LAYER = "layer"


@dataclass(frozen=True)
class WeightTensor:
    """``count`` tensors of ``rows x cols`` (rows = output features; blocks run along cols)."""

    name: str
    cls: TensorClass
    layer: int | None
    rows: int
    cols: int
    count: int = 1

    @property
    def params(self) -> int:
        return self.rows * self.cols * self.count


@dataclass(frozen=True)
class SlidingWindow:
    size: int
    every: int = 0          # every k-th layer (k-1, 2k-1, ...) is global; 0: all layers windowed

    def is_windowed(self, layer: int) -> bool:
        return self.every == 0 or (layer + 1) % self.every != 0


@dataclass(frozen=True)
class MoE:
    experts: int
    top_k: int
    expert_intermediate_size: int
    shared_experts: int = 0
    shared_intermediate_size: int = 0
    dense_layers: int = 0
    expert_bias: bool = False
    router_bias: bool = False


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    family: str
    vocab_size: int
    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate_size: int
    max_context: int
    ffn: FfnKind = FfnKind.GATED
    tied_embeddings: bool = False
    attention_bias: bool = False
    attention_out_bias: bool = False
    mlp_bias: bool = False
    norm: NormKind = NormKind.RMS
    norms_per_layer: int = 2
    qk_norm: bool = False
    ffn_sub_norm: bool = False
    attn_sub_norm: bool = False
    sliding_window: SlidingWindow | None = None
    attention_sinks: bool = False
    rope_freqs: bool = False
    moe: MoE | None = None
    mla: MLA | None = None
    global_attention: GlobalAttention | None = None
    params_published: int | None = None
    params_rounding: int = 0
    source: str = ""
    origin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ffn", FfnKind(self.ffn))      # a reader may pass the text
        object.__setattr__(self, "norm", NormKind(self.norm))
        parts = {"": self, "moe.": self.moe, "sliding_window.": self.sliding_window, "mla.": self.mla,
                 "global_attention.": self.global_attention}
        for key, bound in LIMITS.items():
            prefix, _, attr = key.rpartition(".")
            holder = parts[prefix + "." if prefix else ""]
            value = getattr(holder, attr, 0) if holder is not None else 0
            if value > bound:
                raise SimlowError(f"{self.origin or self.name}: {key}: {value} is above {bound}, more than "
                                  f"any published model has (simlow.specs.model.LIMITS)")
        if self.mla is not None and (self.kv_heads, self.head_dim) != (1, self.mla.qk_head_dim):
            raise SimlowError(f"{self.origin or self.name}: mla: latent attention has one shared latent KV head "
                              f"(kv_heads 1) of head_dim qk_nope_head_dim + qk_rope_head_dim = "
                              f"{self.mla.qk_head_dim}, got kv_heads {self.kv_heads}, head_dim {self.head_dim}")
        ga = self.global_attention
        if ga is not None and (self.sliding_window is None or self.mla is not None or self.heads % ga.kv_heads):
            raise SimlowError(f"{self.origin or self.name}: global_attention: needs a sliding_window (it shapes the "
                              f"full-attention layers apart from the windowed ones), no mla, and heads ({self.heads}) "
                              f"a multiple of its kv_heads ({ga.kv_heads})")

    # -- derived -------------------------------------------------------------------------
    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Values of one K (or V) row per token: ``kv_heads x head_dim``; MLA: the latent."""
        return self.mla.latent if self.mla else self.kv_heads * self.head_dim

    @property
    def attn_out_dim(self) -> int:
        """Width of the attention output (the o projection's input): heads x value head dim."""
        return self.heads * (self.mla.v_head_dim if self.mla else self.head_dim)

    def is_global(self, layer: int) -> bool:
        """Whether ``layer`` attends to the whole context (not a sliding-window layer)."""
        return self.sliding_window is None or not self.sliding_window.is_windowed(layer)

    def attention(self, layer: int | None = None) -> AttentionShape:
        """Layer ``layer``'s attention shape (``global_attention`` on full-attention layers);
        None: a full-attention layer's."""
        ga = self.global_attention
        if ga is not None and (layer is None or self.is_global(layer)):
            return AttentionShape(self.heads, ga.kv_heads, ga.head_dim, ga.k_eq_v)
        return self.windowed_attention

    @property
    def windowed_attention(self) -> AttentionShape:
        """The attention shape of the sliding-window layers (of every layer without
        ``global_attention``)."""
        return AttentionShape(self.heads, self.kv_heads, self.head_dim)

    def is_moe_layer(self, layer: int) -> bool:
        return self.moe is not None and layer >= self.moe.dense_layers

    def attended_tokens(self, layer: int, ctx: int) -> int:
        """How many past tokens layer ``layer`` attends to (and caches) at context ``ctx``."""
        sw = self.sliding_window
        if sw is not None and sw.is_windowed(layer):
            return min(ctx, sw.size)
        return ctx

    def kv_token_bytes(self, fmt, layer: int | None = None) -> int:
        """Bytes one token adds to layer ``layer``'s KV cache (None: a full-attention layer's):
        a key and a value head vector per KV head, ``head_dim`` values each (``attention``), at
        storage format ``fmt`` (block scales included; the cache is laid out one head vector
        per row). MLA: one latent row of ``kv_lora_rank +
        qk_rope_head_dim`` values (llama.cpp keeps only this K row; V is a view of its first
        ``kv_lora_rank`` values)."""
        if self.mla is not None:
            return fmt.tensor_bytes(1, self.mla.latent)
        return _kv_row_bytes(fmt, self.attention(layer))

    def kv_bytes(self, fmt, ctx: int, layers: range | None = None) -> int:
        """KV-cache bytes of one sequence at context ``ctx`` over ``layers`` (default: all),
        each layer holding the tokens it attends to (``attended_tokens``). Closed form in the
        number of sliding-window layers, so it costs nothing per layer."""
        layers = range(self.layers) if layers is None else layers
        if layers.step != 1:
            raise ValueError("kv_bytes takes a contiguous range of layers")
        n = max(len(layers), 0)
        sw = self.sliding_window
        if sw is None or n == 0:
            windowed = 0
        elif sw.every == 0:
            windowed = n
        else:                               # full-attention layers: (i + 1) % every == 0
            windowed = n - ((layers.stop // sw.every) - (layers.start // sw.every))
        local = windowed * min(ctx, sw.size if sw is not None else ctx) * (
            self.kv_token_bytes(fmt) if self.mla else _kv_row_bytes(fmt, self.windowed_attention))
        return local + (n - windowed) * ctx * self.kv_token_bytes(fmt)


def _kv_row_bytes(fmt, a: AttentionShape) -> int:
    return fmt.tensor_bytes(2 * a.kv_heads, a.head_dim)


def read_model(path: Path | str) -> ModelSpec:
    """Read and validate one model YAML file."""
    r, name = open_spec(path, SCHEMA_VERSION)
    hidden = r.int("hidden_size", minimum=1)
    heads = r.int("heads", minimum=1)
    mla = _mla(r.sub("mla", required=False))
    spec = ModelSpec(
        name=name,
        title=r.str("title"),
        family=r.str("family"),
        source=r.str("source"),
        params_published=r.int("params", default=0, minimum=0) or None,
        params_rounding=r.int("params_rounding", default=0, minimum=0),
        vocab_size=r.int("vocab_size", minimum=1),
        hidden_size=hidden,
        layers=r.int("layers", minimum=1),
        heads=heads,
        kv_heads=r.int("kv_heads", default=1 if mla else None, minimum=1),
        head_dim=r.int("head_dim", default=mla.qk_head_dim if mla else hidden // heads, minimum=1),
        intermediate_size=r.int("intermediate_size", minimum=0),
        max_context=r.int("max_context", minimum=1),
        ffn=FfnKind(r.str("ffn", default="gated", choices=tuple(k.value for k in FfnKind))),
        tied_embeddings=r.bool("tied_embeddings", default=False),
        attention_bias=r.bool("attention_bias", default=False),
        attention_out_bias=r.bool("attention_out_bias", default=False),
        mlp_bias=r.bool("mlp_bias", default=False),
        norm=NormKind(r.str("norm", default="rms", choices=tuple(k.value for k in NormKind))),
        norms_per_layer=r.int("norms_per_layer", default=2, minimum=0),
        qk_norm=r.bool("qk_norm", default=False),
        ffn_sub_norm=r.bool("ffn_sub_norm", default=False),
        attn_sub_norm=r.bool("attn_sub_norm", default=False),
        sliding_window=_sliding(r.sub("sliding_window", required=False)),
        attention_sinks=r.bool("attention_sinks", default=False),
        rope_freqs=r.bool("rope_freqs", default=False),
        moe=_moe(r.sub("moe", required=False)),
        mla=mla,
        global_attention=_global(r.sub("global_attention", required=False)),
        origin=str(path),
    )
    r.done()
    if spec.heads % spec.kv_heads:
        r.fail(f"heads ({spec.heads}) must be a multiple of kv_heads ({spec.kv_heads})", "kv_heads")
    if spec.moe and spec.moe.top_k > spec.moe.experts:
        r.fail("top_k exceeds the number of experts", "moe.top_k")
    return spec


def _sliding(r: Reader | None) -> SlidingWindow | None:
    if r is None:
        return None
    sw = SlidingWindow(size=r.int("size", minimum=1), every=r.int("every", default=0, minimum=0))
    r.done()
    return sw


def _moe(r: Reader | None) -> MoE | None:
    if r is None:
        return None
    moe = MoE(
        experts=r.int("experts", minimum=1),
        top_k=r.int("top_k", minimum=1),
        expert_intermediate_size=r.int("expert_intermediate_size", minimum=1),
        shared_experts=r.int("shared_experts", default=0, minimum=0),
        shared_intermediate_size=r.int("shared_intermediate_size", default=0, minimum=0),
        dense_layers=r.int("dense_layers", default=0, minimum=0),
        expert_bias=r.bool("expert_bias", default=False),
        router_bias=r.bool("router_bias", default=False),
    )
    r.done()
    return moe


def _mla(r: Reader | None) -> MLA | None:
    if r is None:
        return None
    mla = MLA(kv_lora_rank=r.int("kv_lora_rank", minimum=1), q_lora_rank=r.int("q_lora_rank", default=0, minimum=0),
              qk_nope_head_dim=r.int("qk_nope_head_dim", minimum=1),
              qk_rope_head_dim=r.int("qk_rope_head_dim", minimum=0), v_head_dim=r.int("v_head_dim", minimum=1))
    r.done()
    return mla


def _global(r: Reader | None) -> GlobalAttention | None:
    if r is None:
        return None
    ga = GlobalAttention(kv_heads=r.int("kv_heads", minimum=1), head_dim=r.int("head_dim", minimum=1),
                         k_eq_v=r.bool("k_eq_v", default=False))
    r.done()
    return ga
