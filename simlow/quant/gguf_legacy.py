"""GGUF legacy block formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, byte-equal to gguf-py 0.19.

Layering: uses ``base``, ``_exact``, ``qtensor``; registered in ``registry``.

Semantics (gguf ``quants.py`` = ggml ``quantize_row_*_ref``; bitexact-notes §1.3). A block
is 32 consecutive elements of a row. ``d`` is computed in float32 and codes use the
*unrounded* ``id = 1/d`` (``id = 0`` when ``d == 0``); only the stored ``d`` (and ``m``) is
rounded to float16 (RNE). "max" is the signed value of largest magnitude, first occurrence.

======  ==============================  ====================================  ================
type    scale                           code (tie rule)                        codes array
======  ==============================  ====================================  ================
Q4_0    d = max / -8                    min(15, trunc(x*id + 8.5)): ties +inf  int8 q-8 in [-8,7]
Q5_0    d = max / -16                   min(31, trunc(x*id + 16.5))            int8 q-16 [-16,15]
Q4_1    d = (max-min)/15, m = min       min(15, trunc((x-m)*id + 0.5)) half-up uint8 q in [0,15]
Q5_1    d = (max-min)/31, m = min       min(31, trunc((x-m)*id + 0.5))         uint8 q in [0,31]
Q8_0    d = amax / 127                  roundf(x*id): ties away from zero      int8 in [-127,127]
======  ==============================  ====================================  ================

Bit-exact for every finite input except blocks whose largest magnitude is a float32
subnormal (< 2**-126): XLA flushes subnormal arithmetic to zero, numpy does not.

Dequantize: ``d*code`` (``_0``) or ``d*q + m`` (``_1``), float32, two roundings.
Byte layout of one block: Q4_0 ``[d f16][qs 16]``; Q4_1 ``[d][m][qs 16]``; Q5_0
``[d][qh u32 LE: bit j = bit 4 of element j][qs 16]``; Q5_1 ``[d][m][qh][qs]``; Q8_0
``[d][32 x int8]``. In ``qs`` byte j holds element j (low nibble) and element j+16 (high).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T

from simlow.quant import _exact
from simlow.quant.base import as_input, blocks_of, check_shape, f16_bytes, f16_from, raw_blocks
from simlow.quant.qtensor import QTensor


@partial(jax.jit, static_argnums=1)
def _scale_sym(blocks, half: int):
    """Stage 1 of Q4_0/Q5_0: d = max/-half, and the rounded product x*id (own jit: no FMA)."""
    imax = jnp.argmax(jnp.abs(blocks), axis=-1, keepdims=True)
    mx = jnp.take_along_axis(blocks, imax, axis=-1)
    d = _exact.true_div(mx, -float(half))
    inv = jnp.where(d == 0, 0.0, _exact.true_div(1.0, d))
    return d, blocks * inv


@partial(jax.jit, static_argnums=1)
def _scale_asym(blocks, levels: int):
    """Stage 1 of Q4_1/Q5_1: d = (max-min)/levels, m = min, rounded (x-m)*id."""
    mx = blocks.max(axis=-1, keepdims=True)
    mn = blocks.min(axis=-1, keepdims=True)
    d = _exact.true_div(mx - mn, float(levels))
    inv = jnp.where(d == 0, 0.0, _exact.true_div(1.0, d))
    return d, mn, (blocks - mn) * inv


@jax.jit
def _scale_q8(blocks):
    d = _exact.true_div(jnp.abs(blocks).max(axis=-1, keepdims=True), 127.0)
    inv = jnp.where(d == 0, 0.0, _exact.true_div(1.0, d))
    return d, blocks * inv


@partial(jax.jit, static_argnums=(1, 2))
def _trunc_codes(p, add: float, qmax: int):
    """Stage 2: min(qmax, trunc(p + add)) on the already rounded product (two roundings)."""
    return jnp.clip(jnp.trunc(p + add).astype(jnp.int32), 0, qmax)


@jax.jit
def _q8_codes(p):
    return _exact.round_half_away(p).astype(jnp.int8)


@jax.jit
def _nibbles(q):
    """(n, 32) values 0..15 (low 4 bits used) -> (n, 16) bytes: element j low, j+16 high."""
    q = q.astype(jnp.uint8)
    return (q[:, :16] & 0x0F) | ((q[:, 16:] & 0x0F) << 4)


@jax.jit
def _qh_bytes(q):
    """(n, 32) 5-bit values -> (n, 4) bytes of bit 4, element j at bit j (little-endian u32)."""
    bits = ((q.astype(jnp.uint32) >> 4) & 1).reshape(q.shape[0], 4, 8)
    return (bits << jnp.arange(8, dtype=jnp.uint32)).sum(-1).astype(jnp.uint8)


def _unnibble(qs: np.ndarray) -> np.ndarray:
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int32)


def _unqh(qh: np.ndarray) -> np.ndarray:
    return ((qh[:, :, None] >> np.arange(8, dtype=np.uint8)) & 1).reshape(qh.shape[0], 32).astype(np.int32)


@dataclass(frozen=True)
class GgufLegacy:
    """One of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (see the module docstring for the semantics)."""

    name: str
    gguf_type: int
    qbits: int          # 4, 5 or 8
    with_min: bool      # the ``_1`` types store a minimum m
    block: int = 32

    @property
    def storage(self) -> str:
        return self.name

    @property
    def type_size(self) -> int:
        return GGML_QUANT_SIZES[T(self.gguf_type)][1]

    @property
    def bits_per_weight(self) -> float:
        return self.type_size * 8 / self.block

    # -- quantize -------------------------------------------------------------------------
    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        blocks = blocks_of(arr, self.block, self.name)
        aux = {}
        if self.qbits == 8:
            d, p = _scale_q8(blocks)
            codes = _q8_codes(p)
        elif self.with_min:
            d, mn, p = _scale_asym(blocks, 2 ** self.qbits - 1)
            codes = _trunc_codes(p, 0.5, 2 ** self.qbits - 1).astype(jnp.uint8)
            aux["min"] = mn.astype(jnp.float16).reshape(arr.shape[:-1] + (-1,))
        else:
            half = 2 ** (self.qbits - 1)
            d, p = _scale_sym(blocks, half)
            codes = (_trunc_codes(p, half + 0.5, 2 * half - 1) - half).astype(jnp.int8)
        scales = d.astype(jnp.float16).reshape(arr.shape[:-1] + (-1,))
        return QTensor(codes.reshape(arr.shape), scales, self, arr.shape, aux)

    def dequantize(self, q: QTensor) -> jax.Array:
        codes = q.codes.reshape(-1, self.block).astype(jnp.float32)
        d = q.scales.reshape(-1, 1).astype(jnp.float32)
        y = _exact.mul(d, codes)
        if self.with_min:
            y = _exact.add(y, q.aux["min"].reshape(-1, 1).astype(jnp.float32))
        return y.reshape(q.shape)

    # -- bytes ----------------------------------------------------------------------------
    def to_bytes(self, q: QTensor) -> bytes:
        return np.asarray(self._pack(q)).tobytes()

    def _pack(self, q: QTensor) -> jax.Array:
        codes = q.codes.reshape(-1, self.block)
        parts = [f16_bytes(q.scales.reshape(-1, 1))]
        if self.with_min:
            parts.append(f16_bytes(q.aux["min"].reshape(-1, 1)))
        if self.qbits == 8:
            parts.append(jax.lax.bitcast_convert_type(codes.astype(jnp.int8), jnp.uint8))
            return jnp.concatenate(parts, axis=-1)
        u = codes.astype(jnp.int32) + (0 if self.with_min else 2 ** (self.qbits - 1))
        if self.qbits == 5:
            parts.append(_qh_bytes(u))
        parts.append(_nibbles(u))
        return jnp.concatenate(parts, axis=-1)

    def from_bytes(self, buf, shape) -> QTensor:
        shape = check_shape(shape, self.block, self.name)
        raw = raw_blocks(buf, shape, self.block, self.type_size, self.name)
        d, rest = f16_from(raw[:, :2]), raw[:, 2:]
        aux = {}
        if self.with_min:
            aux["min"] = f16_from(rest[:, :2]).reshape(shape[:-1] + (-1,))
            rest = rest[:, 2:]
        if self.qbits == 8:
            codes = rest.view(np.int8)
        else:
            q = _unnibble(rest[:, -16:])
            if self.qbits == 5:
                q = q | (_unqh(rest[:, :4]) << 4)
            codes = q if self.with_min else q - 2 ** (self.qbits - 1)
            codes = codes.astype(np.uint8 if self.with_min else np.int8)
        return QTensor(jnp.asarray(codes.reshape(shape)), d.reshape(shape[:-1] + (-1,)),
                       self, shape, aux)


Q4_0 = GgufLegacy("q4_0", int(T.Q4_0), 4, False)
Q4_1 = GgufLegacy("q4_1", int(T.Q4_1), 4, True)
Q5_0 = GgufLegacy("q5_0", int(T.Q5_0), 5, False)
Q5_1 = GgufLegacy("q5_1", int(T.Q5_1), 5, True)
Q8_0 = GgufLegacy("q8_0", int(T.Q8_0), 8, False)
