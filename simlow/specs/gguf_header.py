"""Model shapes and tensor types from a ``.gguf`` file's header (no weights are read).

``read_gguf_model(path)`` builds a ``ModelSpec`` from the ``{arch}.*`` metadata keys and the
tensor list (which tensors exist decides biases, tied embeddings, q/k norms, sinks,
``rope_freqs``); the metadata must agree with the tensors (``block_count`` with the ``blk.N``
tensors present, ``embedding_length`` with ``token_embd``), else a ``SimlowError``.
``gguf_tensors(path)`` lists every tensor with its GGML type and exact byte size and
``gguf_summary`` totals them by type. The header is read by ``simlow.specs.gguf_file``
(struct-based; it skips the tokenizer arrays instead of parsing them).

The file's own tensor types, as a scheme, are in ``simlow.specs.gguf_types``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from simlow.errors import SimlowError
from simlow.specs.gguf_file import GGUFHeader, GGUFTensor, Skipped, read_header
from simlow.specs.model import FfnKind, MoE, ModelSpec, NormKind, SlidingWindow

__all__ = ["GGUFSummary", "GGUFTensor", "gguf_summary", "gguf_tensors", "model_from_header",
           "read_gguf_model"]

# llama.cpp architectures whose sliding-window layers follow a fixed period
# (gemma2 and gpt-oss alternate; gemma3 has five local layers per global one).
_WINDOW_EVERY = {"gemma2": 2, "gpt-oss": 2, "gemma3": 6}
_HIDDEN_NORMS = ("attn_norm", "ffn_norm", "post_attention_norm", "post_ffw_norm")


@dataclass(frozen=True)
class GGUFSummary:
    tensors: int
    params: int
    n_bytes: int
    bytes_by_type: dict[str, int]
    count_by_type: dict[str, int]

    @property
    def bits_per_weight(self) -> float:
        return self.n_bytes * 8 / self.params


def gguf_tensors(path: Path | str) -> list[GGUFTensor]:
    """Every tensor in the file with its GGML type and exact byte size."""
    return list(read_header(path).tensors)


def gguf_summary(path: Path | str) -> GGUFSummary:
    """Totals of a GGUF file's tensors: count, parameters, bytes, and bytes per GGML type."""
    return summarize(read_header(path).tensors)


def summarize(ts: tuple[GGUFTensor, ...] | list[GGUFTensor]) -> GGUFSummary:
    by_bytes: Counter[str] = Counter()
    by_count: Counter[str] = Counter()
    for t in ts:
        by_bytes[t.type] += t.n_bytes
        by_count[t.type] += 1
    return GGUFSummary(len(ts), sum(t.n_elements for t in ts), sum(t.n_bytes for t in ts),
                       dict(by_bytes), dict(by_count))


def read_gguf_model(path: Path | str) -> ModelSpec:
    """The model shape stored in a GGUF header, checked against the file's tensors: every
    weight tensor of the shape must be in the file with the shape the metadata implies."""
    from simlow.specs.gguf_types import file_scheme

    h = read_header(path)
    m = model_from_header(h)
    file_scheme(h, m)   # raises when a tensor the shape implies is missing or shaped otherwise
    return m


def model_from_header(h: GGUFHeader) -> ModelSpec:
    """The model shape of a read GGUF header (see the module docstring)."""
    path = h.path
    meta = _Meta(h.metadata, path)
    arch = meta.str("general.architecture")
    if f"{arch}.attention.kv_lora_rank" in h.metadata:
        raise SimlowError(f"{path}: architecture {arch} uses multi-head latent attention ({arch}.attention."
                          "kv_lora_rank), which this GGUF reader does not map (its attention tensors and KV "
                          "cache would be sized as ordinary attention, so no figure is given); give the "
                          "model's config.json or a model YAML with an mla: block (deepseek-v2-lite, deepseek-v3)")
    shapes = {t.name: t.shape for t in h.tensors}
    names = set(shapes)
    if "token_embd.weight" not in shapes or len(shapes["token_embd.weight"]) != 2:
        raise SimlowError(f"{path}: no 2-D tensor token_embd.weight (not a decoder LLM GGUF?)")
    hidden = meta.int(f"{arch}.embedding_length")
    if shapes["token_embd.weight"][0] != hidden:
        raise SimlowError(f"{path}: GGUF metadata key {arch}.embedding_length is {hidden}, but "
                          f"token_embd.weight has rows of {shapes['token_embd.weight'][0]}")
    heads = meta.int(f"{arch}.attention.head_count")
    layers = _layers(meta, arch, names, path)
    head_dim = meta.int(f"{arch}.attention.key_length", hidden // heads)
    if head_dim < 1 or shapes["token_embd.weight"][1] < 1:
        raise SimlowError(f"{path}: {heads} attention heads for a hidden size of {hidden}, or an empty "
                          "vocabulary: not a model")
    experts = meta.int(f"{arch}.expert_count", 0, minimum=0)
    window = meta.int(f"{arch}.attention.sliding_window", 0, minimum=0)
    kv_heads = meta.int(f"{arch}.attention.head_count_kv", heads)
    if heads % kv_heads:
        raise SimlowError(f"{path}: GGUF metadata key {arch}.attention.head_count_kv: {heads} heads are not "
                          f"a multiple of {kv_heads} kv heads")

    ff = meta.int(f"{arch}.feed_forward_length", 0, minimum=0)

    def has(suffix: str) -> bool:
        return f"blk.0.{suffix}" in names

    return ModelSpec(
        name=path.stem, title=meta.str("general.name", path.stem), family=arch,
        vocab_size=shapes["token_embd.weight"][-1],
        hidden_size=hidden, layers=layers, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
        intermediate_size=ff,
        max_context=meta.int(f"{arch}.context_length"),
        ffn=FfnKind.GATED if (has("ffn_gate.weight") or has("ffn_gate_exps.weight") or experts
                              or _fused_gate_up(shapes, hidden, ff)) else FfnKind.PLAIN,
        tied_embeddings="output.weight" not in names,
        attention_bias=has("attn_q.bias") or has("attn_qkv.bias"), attention_out_bias=has("attn_output.bias"),
        mlp_bias=has("ffn_up.bias"),
        norm=NormKind.LAYER if has("attn_norm.bias") else NormKind.RMS,
        norms_per_layer=sum(has(f"{n}.weight") for n in _HIDDEN_NORMS),
        qk_norm=has("attn_q_norm.weight"), attn_sub_norm=has("attn_sub_norm.weight"),
        ffn_sub_norm=has("ffn_sub_norm.weight"),
        sliding_window=SlidingWindow(window, _WINDOW_EVERY.get(arch, 0)) if window else None,
        attention_sinks=has("attn_sinks.weight"), rope_freqs="rope_freqs.weight" in names,
        moe=_moe(meta, arch, experts, has, layers, names),
        source=str(path), origin=str(path),
    )


def _fused_gate_up(shapes: dict[str, tuple[int, ...]], hidden: int, ff: int) -> bool:
    """phi3 stores gate and up as one ``ffn_up`` of twice the FFN width (and no ``ffn_gate``)."""
    return "blk.0.ffn_gate.weight" not in shapes and shapes.get("blk.0.ffn_up.weight") == (hidden, 2 * ff)


def _layers(meta: "_Meta", arch: str, names: set[str], path: Path) -> int:
    """``block_count``, checked against the ``blk.N.*`` tensors the file holds."""
    layers = meta.int(f"{arch}.block_count")
    present = {int(n.split(".")[1]) for n in names if n.startswith("blk.") and n.split(".")[1].isdigit()}
    found = max(present) + 1 if present else 0
    if layers != found or len(present) != found:
        missing = sorted(set(range(found)) - present)[:3]
        raise SimlowError(f"{path}: GGUF metadata key {arch}.block_count is {layers}, but the file holds "
                          f"tensors of layers 0..{found - 1}" + (f" without layers {missing}" if missing else ""))
    return layers


def _moe(meta: "_Meta", arch: str, experts: int, has, layers: int, names: set[str]) -> MoE | None:
    if not experts:
        return None
    dense = next((i for i in range(layers) if f"blk.{i}.ffn_gate_inp.weight" in names), layers)
    top_k = meta.int(f"{arch}.expert_used_count")
    if top_k > experts:
        raise SimlowError(f"{meta.path}: GGUF metadata key {arch}.expert_used_count: {top_k} exceeds the "
                          f"{experts} experts")
    return MoE(experts=experts, top_k=top_k,
               expert_intermediate_size=meta.int(f"{arch}.expert_feed_forward_length",
                                                 meta.int(f"{arch}.feed_forward_length", 0)),
               shared_experts=meta.int(f"{arch}.expert_shared_count", 0, minimum=0),
               shared_intermediate_size=meta.int(f"{arch}.expert_shared_feed_forward_length", 0, minimum=0),
               dense_layers=dense, expert_bias=has_any(names, dense, "ffn_up_exps.bias", "ffn_gate_up_exps.bias"),
               router_bias=has_any(names, dense, "ffn_gate_inp.bias"))


def has_any(names: set[str], layer: int, *suffixes: str) -> bool:
    return any(f"blk.{layer}.{s}" in names for s in suffixes)


class _Meta:
    """Typed access to GGUF metadata fields; a missing required key names the file and key."""

    def __init__(self, metadata, path: Path) -> None:
        self.fields = metadata
        self.path = path

    def _value(self, key: str):
        v = self.fields.get(key)
        if isinstance(v, Skipped):
            raise SimlowError(f"{self.path}: GGUF metadata key {key}: a {v.kind} of length {v.length} "
                              "is too long for this key")
        return v

    def str(self, key: str, default: str | None = None) -> str:
        v = self._value(key)
        if v is None:
            if default is None:
                raise SimlowError(f"{self.path}: GGUF metadata key {key} missing")
            return default
        if not isinstance(v, str):
            raise SimlowError(f"{self.path}: GGUF metadata key {key}: expected text, got {v!r}")
        return v

    def int(self, key: str, default: int | None = None, minimum: int = 1) -> int:
        v = self._value(key)
        if v is None:
            if default is None:
                raise SimlowError(f"{self.path}: GGUF metadata key {key} missing")
            return default
        if isinstance(v, list):  # per-layer arrays (e.g. head_count_kv): one value for all
            if len(set(map(repr, v))) != 1:
                raise SimlowError(f"{self.path}: GGUF metadata key {key}: per-layer values "
                                  f"{sorted(set(map(repr, v)))[:8]} are not supported (one value for all layers is)")
            v = v[0]
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise SimlowError(f"{self.path}: GGUF metadata key {key}: expected a whole number >= {minimum}, "
                              f"got {v!r}")
        return v
