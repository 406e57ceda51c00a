"""Uniform integer quantization: symmetric / asymmetric, per-tensor / -channel / -group.

Layering: uses ``_exact``, ``rounding``, ``base``; registered in ``registry``.

Groups run along the last axis: per-channel = one scale per row (every leading index),
per-group = one scale per ``group`` consecutive elements of a row, per-tensor = one scale.
Scales are stored as float16 (RNE from the float32 value) and the codes are computed with
the *stored* scale, so ``dequantize`` is exactly ``scale16 * (q - zero)`` (one float32
rounding). Divisions are IEEE float32 (``x / scale``), then rounded with ``rounding``
(default RNE, as torch.round in GPTQ/AWQ).

Symmetric (``int8`` = per-channel 8 bit): ``qmax = 2**(b-1) - 1``, ``scale = amax/qmax``,
``q = clip(round(x/scale), -qmax, qmax)``; codes int8; -2**(b-1) is never produced.
Asymmetric (GPTQ ``quant.py``): ``xmin = min(min x, 0)``, ``xmax = max(max x, 0)`` (zero
is always representable; an all-zero group uses -1/+1), ``scale = (xmax-xmin)/(2**b-1)``,
``zero = clip(round(-xmin/scale), 0, 2**b-1)``, ``q = clip(round(x/scale) + zero, 0, 2**b-1)``;
codes uint8, ``aux["zero"]`` uint8 per group. ``w4g128`` is 4-bit asymmetric group 128.
A group whose float16 scale would overflow raises; one whose scale underflows to 0 codes 0.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp

from simlow.errors import SimlowError
from simlow.quant import _exact
from simlow.quant.base import as_input
from simlow.numerics import Rounding
from simlow.quant.qtensor import QTensor
from simlow.quant.rounding import round_to_int


class Granularity(enum.Enum):
    TENSOR = "tensor"
    CHANNEL = "channel"
    GROUP = "group"


@partial(jax.jit, static_argnums=(1, 2))
def _sym(g, qmax: int, rounding: Rounding):
    amax = jnp.abs(g).max(axis=-1, keepdims=True)
    s16 = _exact.true_div(amax, float(qmax)).astype(jnp.float16)
    s = s16.astype(jnp.float32)
    v = _exact.true_div(g, jnp.where(s == 0, 1.0, s))
    q = jnp.clip(round_to_int(v, rounding), -qmax, qmax)
    return jnp.where(s == 0, 0, q).astype(jnp.int8), s16


@partial(jax.jit, static_argnums=(1, 2))
def _asym(g, maxq: int, rounding: Rounding):
    xmin = jnp.minimum(g.min(axis=-1, keepdims=True), 0.0)
    xmax = jnp.maximum(g.max(axis=-1, keepdims=True), 0.0)
    both0 = (xmin == 0) & (xmax == 0)
    xmin, xmax = jnp.where(both0, -1.0, xmin), jnp.where(both0, 1.0, xmax)
    s16 = _exact.true_div(xmax - xmin, float(maxq)).astype(jnp.float16)
    s = s16.astype(jnp.float32)
    safe = jnp.where(s == 0, 1.0, s)
    zero = jnp.clip(round_to_int(_exact.true_div(-xmin, safe), rounding), 0, maxq)
    q = jnp.clip(round_to_int(_exact.true_div(g, safe), rounding) + zero, 0, maxq)
    q = jnp.where(s == 0, zero, q)
    return q.astype(jnp.uint8), s16, zero.astype(jnp.uint8)


@jax.jit
def _deq(codes, zero):
    return (codes.astype(jnp.int32) - zero.astype(jnp.int32)).astype(jnp.float32)


@dataclass(frozen=True)
class UniformInt:
    """``bits``-bit uniform integer quantizer (see the module docstring for the semantics)."""

    bits: int
    symmetric: bool = True
    granularity: Granularity = Granularity.CHANNEL
    group: int = 0
    rounding: Rounding = Rounding.RNE
    storage: str | None = None

    def __post_init__(self):
        if not 2 <= self.bits <= 8:
            raise SimlowError(f"uniform int: bits must be 2..8, got {self.bits}")
        if (self.granularity is Granularity.GROUP) != (self.group > 0):
            raise SimlowError("uniform int: a group size is given exactly for GROUP granularity")

    @property
    def name(self) -> str:
        gran = f"g{self.group}" if self.group else self.granularity.value
        tail = "" if self.rounding is Rounding.RNE else f"_{self.rounding.value}"
        return f"int{self.bits}_{'sym' if self.symmetric else 'asym'}_{gran}{tail}"

    @property
    def bits_per_weight(self) -> float:
        if not self.group:
            return float(self.bits)   # per-row / per-tensor scales excluded (simlow.formats)
        return self.bits + (16 + (0 if self.symmetric else self.bits)) / self.group

    def _groups(self, x: jax.Array) -> jax.Array:
        if self.granularity is Granularity.TENSOR:
            return x.reshape(1, -1)
        if self.granularity is Granularity.CHANNEL:
            return x.reshape(-1, x.shape[-1])
        if x.shape[-1] % self.group:
            raise SimlowError(f"{self.name}: last axis {x.shape[-1]} is not a multiple of the "
                              f"group size {self.group}")
        return x.reshape(-1, self.group)

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        g = self._groups(arr)
        aux = {}
        if self.symmetric:
            q, s16 = _sym(g, 2 ** (self.bits - 1) - 1, self.rounding)
        else:
            q, s16, zero = _asym(g, 2 ** self.bits - 1, self.rounding)
            aux["zero"] = zero
        if not bool(jnp.isfinite(s16).all()):
            raise SimlowError(f"{self.name}: a scale overflows float16 (|x| too large)")
        return QTensor(q.reshape(arr.shape), s16, self, arr.shape, aux)

    def dequantize(self, q: QTensor) -> jax.Array:
        codes = self._groups(q.codes)
        zero = q.aux.get("zero", jnp.zeros((1, 1), jnp.uint8))
        centred = _deq(codes, zero)
        return _exact.mul(q.scales.astype(jnp.float32), centred).reshape(q.shape)


def _uniform_table() -> list[UniformInt]:
    storage = {(8, True, "channel"): "int8", (4, True, "channel"): "int4",
               (4, False, "g128"): "w4g128", (4, True, "g128"): "w4g128_sym"}
    out = []
    for bits in range(2, 9):
        for sym in (True, False):
            for gran, group in ((Granularity.TENSOR, 0), (Granularity.CHANNEL, 0),
                                (Granularity.GROUP, 32), (Granularity.GROUP, 64),
                                (Granularity.GROUP, 128)):
                key = (bits, sym, f"g{group}" if group else gran.value)
                out.append(UniformInt(bits, sym, gran, group, storage=storage.get(key)))
    return out


UNIFORM = _uniform_table()
# Conventional names for four of the above (resolved by the registry).
ALIASES = {"int8": "int8_sym_channel", "int4": "int4_sym_channel",
           "w4g128": "int4_asym_g128", "w4g128_sym": "int4_sym_g128"}
