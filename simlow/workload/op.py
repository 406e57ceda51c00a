"""Operations: the units of a model's work for one step, as coefficients and as numbers.

``OpTemplate`` is one operation with its cost written as *coefficients over workload
features* (below); it does not know the batch, the prompt or the context, so one list of
templates (``simlow.workload.templates``) serves every phase, every decode step and every
point of a sweep. ``Op`` is a template evaluated at one ``Phase`` (``simlow.workload.features``).

Workload features (per layer instance, per step; B = batch, n = new tokens per sequence,
L = tokens already in the KV cache, W = the layer's attention window or infinity)::

    one      1                                   fixed per-step cost (dense weights)
    tokens   T = B * n                           rows through every projection
    seqs     B                                   rows through lm_head (last token only)
    pairs    B * sum_{i=1..n} min(L + i, W)      query-key pairs scored by attention
    cached   B * min(L + n, W)                   KV entries read once per step
    experts  E[distinct experts touched by T tokens]   (MoE layers; see simlow.workload.routing)

Quantities per template, each a mapping feature -> coefficient (``Op`` holds the values)::

    flops         operations (1 MAC = 2) in ``compute`` format
    weight_read   bytes of weights read (quantized size, scales included: formats.tensor_bytes)
    kv_read       bytes of KV cache read (at the KV format)
    kv_write      bytes of KV cache written
    act_read      bytes of activations read (at the scheme's activation format)
    act_write     bytes of activations written
    params        weight parameters touched (lets a sweep re-price weights at other bits)

Memory levels: weights and KV live in the engine's main memory unless placement says
otherwise (offload is the DES's business); activations are counted as main-memory traffic
(an upper bound; a fused kernel keeps some on chip). Bytes are not double counted: every
byte of ``weight_read`` belongs to exactly one weight tensor (tested: graph totals equal
per-op sums, and a dense decode step reads every weight tensor once except the embedding
table, of which it reads T rows).

``Op.op_class`` (matmul, attention, vector, gather) is what software stacks key their
efficiencies by; ``Op.kernels`` is the number of kernel launches an unfused implementation
issues (llama.cpp's ggml graph nodes), which a stack prices by its per-kernel overhead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping

from simlow.errors import SimlowError
from simlow.numerics import COMPUTE
from simlow.specs.model import TensorClass

FEATURES = ("one", "tokens", "seqs", "pairs", "cached", "experts")
QUANTITIES = ("flops", "weight_read", "kv_read", "kv_write", "act_read", "act_write", "params")
BYTE_QUANTITIES = ("weight_read", "kv_read", "kv_write", "act_read", "act_write")

# Bytes per value of an activation / compute format (simlow.numerics.COMPUTE).
VALUE_BYTES = {name: c.value_bytes for name, c in COMPUTE.items()}

# Vector work (norms, rope, softmax, activation functions) runs in fp32 on every stack
# simlow models (llama.cpp, vLLM, TensorRT-LLM accumulate and normalise in fp32).
VECTOR_FORMAT = "fp32"


class OpClass(enum.Enum):
    MATMUL = "matmul"          # weight x activation products (projections, FFN, experts, lm_head)
    ATTENTION = "attention"    # score and weighted sum over the KV cache
    VECTOR = "vector"          # norms, rope, activation functions, residual adds, routing softmax
    GATHER = "gather"          # embedding row lookup


@dataclass(frozen=True)
class Phase:
    """One step of work: ``batch`` sequences each adding ``tokens`` new tokens on top of a
    KV cache already holding ``context`` tokens. Prefill of P tokens: ``Phase(B, P, depth)``;
    the decode step at context L: ``Phase(B, 1, L)``."""

    batch: int
    tokens: int
    context: int = 0

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise SimlowError(f"batch must be at least 1, got {self.batch}")
        if self.tokens < 1:
            raise SimlowError(f"a phase adds at least 1 token per sequence, got {self.tokens}")
        if self.context < 0:
            raise SimlowError(f"context must be >= 0, got {self.context}")

    @property
    def kind(self) -> str:
        return "decode" if self.tokens == 1 else "prefill"


@dataclass(frozen=True)
class OpTemplate:
    """One operation, its cost as coefficients over ``FEATURES`` (see module docstring).

    ``window`` is the attention window of the layers it stands for (None: full context),
    ``moe`` whether the ``experts`` feature applies; ``repeat == len(layers)`` instances run
    per step (0 layers, repeat 1 for embedding and lm_head). ``group`` is the layer group
    it belongs to (``templates``; None outside the layers), ``expert`` whether it is part
    of the routed experts' work (their matmuls and activation) and ``role`` the weight
    tensor class a matmul applies (None for other ops), so callers never parse ``name``,
    which is for display."""

    name: str
    op_class: OpClass
    compute: str                                   # number format of its arithmetic
    coef: Mapping[str, Mapping[str, float]]        # quantity -> feature -> coefficient
    kernels: int = 1
    repeat: int = 1
    layers: tuple[int, ...] = ()
    window: int | None = None
    weight_format: str | None = None
    tensors: tuple[str, ...] = ()
    group: int | None = None
    expert: bool = False
    role: TensorClass | None = None

    def value(self, quantity: str, features: Mapping[str, float]) -> float:
        return sum(c * features[f] for f, c in self.coef.get(quantity, {}).items())


@dataclass(frozen=True)
class Op:
    """A template evaluated at one phase: quantities per instance (multiply by ``repeat``)."""

    name: str
    op_class: OpClass
    compute: str
    flops: float
    weight_read: float
    kv_read: float
    kv_write: float
    act_read: float
    act_write: float
    params: float
    kernels: int
    repeat: int
    layers: tuple[int, ...]
    weight_format: str | None
    engines: tuple[str, ...] = ()
    role: TensorClass | None = None      # the template's (``OpTemplate.role``)

    @property
    def bytes_read(self) -> float:
        return self.weight_read + self.kv_read + self.act_read

    @property
    def bytes_written(self) -> float:
        return self.kv_write + self.act_write

    @property
    def bytes(self) -> float:
        return self.bytes_read + self.bytes_written
