"""Memory footprint and fit: does this model, at this scheme, fit on this device?

``footprint`` adds up three parts, each from the bytes behind it:

- **weights**: every weight tensor at its scheme's storage format (``formats.tensor_bytes``,
  scales and zero points included), grouped by part of the model;
- **KV cache**: per layer, 2 x kv_heads x head_dim entries per attended token at the KV
  format (sliding-window layers cache at most their window), times the batch;
- **activations / workspace**: a llama.cpp-style compute buffer for one micro-batch
  (``UBATCH`` tokens of prefill, or the decode batch) with tiled (flash) attention: the
  residual stream and normed copies, the FFN's gate and up outputs and the output logits in
  float32. This is an estimate of the runtime's buffers, stated as such.

The scheme: the one given; else, for a model read from a ``.gguf`` file, the types stored in
that file, tensor by tensor (``simlow.specs.gguf_types``); for a ``config.json`` with a
``quantization_config``, that quantization (``simlow.specs.hf_quant``); else ``q4_0``. A scheme
given for such a model overrides the file's own storage, and the notes say so.

Capacity is the device's main memory times its usable fraction (the spec sources that
fraction: a CUDA context reserve, macOS's GPU working-set limit...). Not fitting is an
answer: ``fits`` is False and ``shortfall_bytes`` says by how much.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

from simlow.errors import SimlowError
from simlow.specs import HardwareSpec, ModelSpec, Scheme, load_hw, load_model, load_scheme
from simlow.specs.scheme import SchemeKind, tensor_formats

UBATCH = 512          # llama.cpp's default n_ubatch: tokens per prefill micro-batch
ACT_BYTES = 4         # float32 activations in the compute buffer
MAX_BATCH = 4096      # largest batch ``fit`` searches
DEFAULT_CTX = 4096    # the context ``fit`` sizes when none is given (capped at the model's maximum)


@dataclass(frozen=True)
class Footprint:
    ctx: int
    batch: int
    weights_bytes: Mapping[str, int]
    kv_cache_bytes: int
    activation_bytes: int
    capacity_bytes: float
    usable_bytes: float

    @property
    def weight_total_bytes(self) -> int:
        return sum(self.weights_bytes.values())

    @property
    def total_bytes(self) -> int:
        return self.weight_total_bytes + self.kv_cache_bytes + self.activation_bytes

    @property
    def fits(self) -> bool:
        return self.total_bytes <= self.usable_bytes

    @property
    def shortfall_bytes(self) -> float:
        """Bytes missing to fit (0 when it fits)."""
        return max(0.0, self.total_bytes - self.usable_bytes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["weights_bytes"] = dict(self.weights_bytes)
        d.update(weight_total_bytes=self.weight_total_bytes, total_bytes=self.total_bytes,
                 fits=self.fits, shortfall_bytes=self.shortfall_bytes)
        return d


@dataclass(frozen=True)
class FitResult:
    model: str
    hw: str
    scheme: str
    footprint: Footprint
    max_context: int          # longest context that fits at this batch (0: not even one token)
    max_batch: int            # largest batch that fits at this context (0: not even one)
    notes: tuple[str, ...] = field(default=())
    model_max_context: int = 0  # the model's own limit, which caps ``max_context``

    @property
    def fits(self) -> bool:
        return self.footprint.fits

    @property
    def max_context_limit(self) -> str:
        """What bounds ``max_context``: ``"model"`` (its maximum context) or ``"memory"``."""
        return "model" if self.max_context >= self.model_max_context > 0 else "memory"

    def to_dict(self) -> dict:
        return {"model": self.model, "hw": self.hw, "scheme": self.scheme,
                "fits": self.fits, "max_context": self.max_context, "max_context_limit": self.max_context_limit,
                "model_max_context": self.model_max_context, "max_batch": self.max_batch,
                "memory": self.footprint.to_dict(), "notes": list(self.notes)}


def weight_bytes_by_part(model: ModelSpec, scheme: Scheme) -> dict[str, int]:
    """Weight bytes by part of the model (embedding, attention, ffn, experts, lm_head...);
    their sum is ``simlow.specs.scheme.weight_bytes``."""
    if scheme.kind is not SchemeKind.WEIGHTS:
        raise SimlowError(f"{scheme.name!r} is a KV-cache scheme; give a weight scheme (and it as --kv-scheme)")
    parts: dict[str, int] = {}
    for t, _, nbytes in tensor_formats(model, scheme):
        parts[t.cls.group] = parts.get(t.cls.group, 0) + nbytes
    return parts


def kv_bytes_per_sequence(model: ModelSpec, scheme: Scheme, ctx: int) -> int:
    """KV-cache bytes for one sequence of ``ctx`` tokens (keys and values, every layer)."""
    return model.kv_bytes(scheme.kv_cache, ctx)


def activation_bytes(model: ModelSpec, ctx: int, batch: int) -> int:
    """Compute-buffer estimate for one micro-batch (see the module docstring)."""
    tokens = max(min(ctx * batch, UBATCH), batch)
    ffn = model.intermediate_size
    if model.moe is not None:
        ffn = max(ffn, model.moe.expert_intermediate_size * model.moe.top_k)
    per_token = 3 * model.hidden_size + 2 * ffn + model.q_dim + 2 * model.kv_dim
    logits = batch * model.vocab_size
    return ACT_BYTES * (tokens * per_token + logits)


def footprint(model: ModelSpec, hw: HardwareSpec, scheme: Scheme, ctx: int, batch: int = 1) -> Footprint:
    """Memory needed to run ``model`` at ``scheme`` with ``batch`` sequences of ``ctx`` tokens."""
    check_workload(model, ctx, batch)
    mem = hw.main_memory
    return Footprint(
        ctx=ctx, batch=batch,
        weights_bytes=weight_bytes_by_part(model, scheme),
        kv_cache_bytes=batch * kv_bytes_per_sequence(model, scheme, ctx),
        activation_bytes=activation_bytes(model, ctx, batch),
        capacity_bytes=mem.capacity_bytes,
        usable_bytes=mem.usable_bytes,
    )


def check_workload(model: ModelSpec, ctx: int, batch: int) -> None:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SimlowError(f"batch must be a whole number >= 1, got {batch!r}")
    if isinstance(ctx, bool) or not isinstance(ctx, int) or ctx < 1:
        raise SimlowError(f"context must be a whole number >= 1, got {ctx!r}")
    if ctx > model.max_context:
        raise SimlowError(f"context {ctx} exceeds {model.name}'s maximum of {model.max_context} tokens")


def largest(lo: int, hi: int, ok) -> int:
    """The largest n in [lo, hi] with ok(n), for ok monotone decreasing; lo - 1 if none."""
    if not ok(lo):
        return lo - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


DEFAULT_SCHEME = "q4_0"


def resolve_scheme(model: ModelSpec, scheme: str | Scheme | None) -> tuple[Scheme, tuple[str, ...]]:
    """The scheme to size ``model`` with (see the module docstring), and what to tell the user."""
    suffix = Path(model.origin).suffix
    if suffix == ".gguf":
        return _gguf_scheme(model, scheme)
    if suffix == ".json":
        return _hf_scheme(model, scheme)
    return load_scheme(DEFAULT_SCHEME if scheme is None else scheme), ()


def _gguf_scheme(model: ModelSpec, scheme: str | Scheme | None) -> tuple[Scheme, tuple[str, ...]]:
    from simlow.specs.gguf_file import read_header
    from simlow.specs.gguf_types import file_scheme, type_counts

    header = read_header(model.origin)
    if scheme is None:
        return file_scheme(header, model)
    s = load_scheme(scheme)
    return s, (f"scheme {s.name} overrides the types stored in {header.path.name} ({type_counts(header)}); "
               "leave --scheme out to size the file as stored",)


def _hf_scheme(model: ModelSpec, scheme: str | Scheme | None) -> tuple[Scheme, tuple[str, ...]]:
    from simlow.specs.hf_quant import hf_scheme, quant_method

    if scheme is None:
        own, notes = hf_scheme(model.origin)
        return (own, notes) if own is not None else (load_scheme(DEFAULT_SCHEME), ())
    s = load_scheme(scheme)
    method = quant_method(model.origin)
    if method is None:
        return s, ()
    return s, (f"scheme {s.name} overrides the config's quantization_config ({method}); leave --scheme out "
               "to size the checkpoint as quantized",)


def fit(model: str | ModelSpec, hw: str | HardwareSpec, scheme: str | Scheme | None = None,
        ctx: int | None = None, batch: int = 1, kv_scheme: str | Scheme | None = None,
        memory: str | None = None) -> FitResult:
    """Does it fit? With the longest context and the largest batch that do.

    ``scheme`` None: a ``.gguf`` model is sized with its own tensor types, others with q4_0.
    ``ctx`` defaults to ``DEFAULT_CTX`` tokens, or the model's maximum when that is shorter
    (``predict`` instead sizes the context its run holds: depth + prompt + gen)."""
    m, h = load_model(model), load_hw(hw, memory)
    s, scheme_notes = resolve_scheme(m, scheme)
    if kv_scheme is not None:
        s = s.with_kv(load_scheme(kv_scheme))
    ctx = min(DEFAULT_CTX, m.max_context) if ctx is None else ctx
    fp = footprint(m, h, s, ctx, batch)
    max_ctx = largest(1, m.max_context, lambda c: footprint(m, h, s, c, batch).fits)
    max_batch = largest(1, MAX_BATCH, lambda b: footprint(m, h, s, ctx, b).fits)
    notes = list(scheme_notes)
    if max_batch == MAX_BATCH:
        notes.append(f"largest batch searched is {MAX_BATCH}")
    return FitResult(m.name, h.name, s.name, fp, max(max_ctx, 0), max(max_batch, 0), tuple(notes), m.max_context)
