"""Model shapes and tensor types from a ``.gguf`` file's header (no weights are read).

``read_gguf_model(path)`` builds a ``ModelSpec`` from the ``{arch}.*`` metadata keys and the
tensor list (which tensors exist decides biases, tied embeddings, q/k norms, sinks,
``rope_freqs``). ``gguf_tensors(path)`` lists every tensor with its GGML type and exact
byte size, and ``gguf_summary`` totals them by type, so a user can see a real file's size
and quantization mix. Both use ``gguf.GGUFReader``, which memory-maps the file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from simlow.errors import SimlowError
from simlow.specs.model import MoE, ModelSpec, SlidingWindow

# llama.cpp architectures whose sliding-window layers follow a fixed period
# (gemma2 and gpt-oss alternate; gemma3 has five local layers per global one).
_WINDOW_EVERY = {"gemma2": 2, "gpt-oss": 2, "gemma3": 6}
_HIDDEN_NORMS = ("attn_norm", "ffn_norm", "post_attention_norm", "post_ffw_norm")


@dataclass(frozen=True)
class GGUFTensor:
    name: str
    type: str            # GGML type name, e.g. "Q4_K"
    shape: tuple[int, ...]
    n_elements: int
    n_bytes: int


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


def _reader(path: Path | str):
    import gguf

    path = Path(path)
    try:
        return gguf.GGUFReader(path)
    except (OSError, ValueError) as err:
        raise SimlowError(f"{path}: not a readable GGUF file ({err})") from None


def gguf_tensors(path: Path | str) -> list[GGUFTensor]:
    """Every tensor in the file with its GGML type and exact byte size."""
    return [GGUFTensor(t.name, t.tensor_type.name, tuple(int(x) for x in t.shape), int(t.n_elements),
                       int(t.n_bytes)) for t in _reader(path).tensors]


def gguf_summary(path: Path | str) -> GGUFSummary:
    """Totals of a GGUF file's tensors: count, parameters, bytes, and bytes per GGML type."""
    ts = gguf_tensors(path)
    by_bytes: Counter[str] = Counter()
    by_count: Counter[str] = Counter()
    for t in ts:
        by_bytes[t.type] += t.n_bytes
        by_count[t.type] += 1
    return GGUFSummary(len(ts), sum(t.n_elements for t in ts), sum(t.n_bytes for t in ts),
                       dict(by_bytes), dict(by_count))


def read_gguf_model(path: Path | str) -> ModelSpec:
    """The model shape stored in a GGUF header."""
    path = Path(path)
    reader = _reader(path)
    meta = _Meta(reader, path)
    arch = meta.str("general.architecture")
    names = {t.name for t in reader.tensors}
    shapes = {t.name: tuple(int(x) for x in t.shape) for t in reader.tensors}
    if "token_embd.weight" not in shapes:
        raise SimlowError(f"{path}: tensor token_embd.weight missing (not a decoder LLM GGUF?)")
    hidden = meta.int(f"{arch}.embedding_length")
    heads = meta.int(f"{arch}.attention.head_count")
    layers = meta.int(f"{arch}.block_count")
    head_dim = meta.int(f"{arch}.attention.key_length", hidden // heads)
    experts = meta.int(f"{arch}.expert_count", 0)
    window = meta.int(f"{arch}.attention.sliding_window", 0)

    def has(suffix: str) -> bool:
        return f"blk.0.{suffix}" in names

    return ModelSpec(
        name=path.stem, title=meta.str("general.name", path.stem), family=arch,
        vocab_size=shapes["token_embd.weight"][-1],
        hidden_size=hidden, layers=layers, heads=heads,
        kv_heads=meta.int(f"{arch}.attention.head_count_kv", heads), head_dim=head_dim,
        intermediate_size=meta.int(f"{arch}.feed_forward_length", 0),
        max_context=meta.int(f"{arch}.context_length"),
        ffn="gated" if (has("ffn_gate.weight") or has("ffn_gate_exps.weight") or experts) else "plain",
        tied_embeddings="output.weight" not in names,
        attention_bias=has("attn_q.bias"), attention_out_bias=has("attn_output.bias"),
        mlp_bias=has("ffn_up.bias"),
        norm="layer" if has("attn_norm.bias") else "rms",
        norms_per_layer=sum(has(f"{n}.weight") for n in _HIDDEN_NORMS),
        qk_norm=has("attn_q_norm.weight"), attn_sub_norm=has("attn_sub_norm.weight"),
        ffn_sub_norm=has("ffn_sub_norm.weight"),
        sliding_window=SlidingWindow(window, _WINDOW_EVERY.get(arch, 0)) if window else None,
        attention_sinks=has("attn_sinks.weight"), rope_freqs="rope_freqs.weight" in names,
        moe=_moe(meta, arch, experts, has, layers, names),
        source=str(path), origin=str(path),
    )


def _moe(meta: "_Meta", arch: str, experts: int, has, layers: int, names: set[str]) -> MoE | None:
    if not experts:
        return None
    dense = next((i for i in range(layers) if f"blk.{i}.ffn_gate_inp.weight" in names), layers)
    return MoE(experts=experts, top_k=meta.int(f"{arch}.expert_used_count"),
               expert_intermediate_size=meta.int(f"{arch}.expert_feed_forward_length",
                                                 meta.int(f"{arch}.feed_forward_length", 0)),
               shared_experts=meta.int(f"{arch}.expert_shared_count", 0),
               shared_intermediate_size=meta.int(f"{arch}.expert_shared_feed_forward_length", 0),
               dense_layers=dense, expert_bias=has_any(names, dense, "ffn_up_exps.bias", "ffn_gate_up_exps.bias"),
               router_bias=has_any(names, dense, "ffn_gate_inp.bias"))


def has_any(names: set[str], layer: int, *suffixes: str) -> bool:
    return any(f"blk.{layer}.{s}" in names for s in suffixes)


class _Meta:
    """Typed access to GGUF metadata fields; a missing required key names the file and key."""

    def __init__(self, reader, path: Path) -> None:
        self.fields = reader.fields
        self.path = path

    def _value(self, key: str):
        f = self.fields.get(key)
        return None if f is None else f.contents()

    def str(self, key: str, default: str | None = None) -> str:
        v = self._value(key)
        if v is None:
            if default is None:
                raise SimlowError(f"{self.path}: GGUF metadata key {key} missing")
            return default
        if not isinstance(v, str):
            raise SimlowError(f"{self.path}: GGUF metadata key {key}: expected text, got {v!r}")
        return v

    def int(self, key: str, default: int | None = None) -> int:
        v = self._value(key)
        if v is None:
            if default is None:
                raise SimlowError(f"{self.path}: GGUF metadata key {key} missing")
            return default
        if isinstance(v, list):  # per-layer arrays (e.g. head_count_kv): one value for all
            if len(set(v)) != 1:
                raise SimlowError(f"{self.path}: GGUF metadata key {key}: per-layer values {sorted(set(v))} "
                                  "are not supported")
            v = v[0]
        if isinstance(v, bool) or not isinstance(v, int):
            raise SimlowError(f"{self.path}: GGUF metadata key {key}: expected a whole number, got {v!r}")
        return v
