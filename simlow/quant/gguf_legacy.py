"""GGUF legacy block formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, byte-equal to gguf-py 0.19.

Layering: uses ``base``, ``_exact``, ``qtensor``; registered in ``registry``.

Semantics (gguf-py 0.19.0 ``quants.py`` = ggml ``ggml-quants.c`` ``quantize_row_*_ref``). A block
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

Bit-exact for every finite input except blocks whose largest magnitude is below about
2**-122 (where d, or an element, is a float32 subnormal): XLA flushes subnormal arithmetic
to zero, numpy does not.

Speed: one fused jitted kernel per type (``_blocks.run_blocked``: fixed 2 MB chunks, so
one compile per type whatever the shape; no host copy of an aligned input) returns the GGUF
block bytes directly, with the product ``x*id`` laundered before its add (no FMA
contraction). ``quantize`` returns a ``PackedQTensor``: codes and scales are unpacked from
those bytes (exactly, ``unpack``) on first access. Q4_0/Q5_0 take gguf's first-occurrence
signed max on the bits (``_signed_max_exact``) for every block. (A one-pass float max/min
with an exact rerun for doubtful blocks -- ``-min == max``, all-zero, subnormal maxima --
was 7% faster per pass, but random 4096x4096 data already has such a block, so it paid a
second compile and a second pass on most real tensors.)

Dequantize: ``d*code`` (``_0``) or ``d*q + m`` (``_1``), float32, two roundings.
Byte layout of one block: Q4_0 ``[d f16][qs 16]``; Q4_1 ``[d][m][qs 16]``; Q5_0
``[d][qh u32 LE: bit j = bit 4 of element j][qs 16]``; Q5_1 ``[d][m][qh][qs]``; Q8_0
``[d][32 x int8]``. In ``qs`` byte j holds element j (low nibble) and element j+16 (high).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
from gguf.constants import GGMLQuantizationType as T

from simlow.errors import SimlowError
from simlow.quant import _exact
from simlow.quant._blocks import host_array, launder, run_blocked, run_rows, signed_extremes, to_device
from simlow.quant.base import GgufSized, as_array, check_shape, raw_blocks
from simlow.quant.qtensor import PackedQTensor, QTensor


def _signed_max_exact(blocks):
    """The value of largest magnitude, first occurrence (gguf ``argmax(|x|)``), on the bits."""
    u = _exact.f32_bits(blocks)
    a = u & jnp.uint32(0x7FFFFFFF)
    amax = a.max(axis=-1, keepdims=True)
    idx = jnp.arange(blocks.shape[-1], dtype=jnp.uint32)
    key = jnp.where(a == amax, (idx << 1) | (u >> 31), jnp.uint32(1 << 20)).min(axis=-1, keepdims=True)
    return _exact.bits_f32(amax | ((key & 1) << 31))


def _f16_bytes(v):
    """float32 (n, 1) -> its float16 (RNE) as little-endian bytes (n, 2)."""
    return jax.lax.bitcast_convert_type(v.astype(jnp.float16), jnp.uint8).reshape(v.shape[0], 2)


def _sym_kernel(blocks, zero, half: int):
    """Q4_0/Q5_0 on blocks (n, 32): (GGUF bytes (n, 18 or 22),), (bad,)."""
    mx = _signed_max_exact(blocks)
    d = mx * jnp.float32(-1.0 / half)               # exact: division by a power of two
    inv = jnp.where(d == 0, 0.0, _exact.true_div(1.0, d))
    p = launder(blocks * inv, zero)                 # rounded product, then the add
    q = jnp.minimum(jnp.trunc(p + jnp.float32(half + 0.5)), 2 * half - 1).astype(jnp.int32)
    return (_block_bytes(q, [_f16_bytes(d)], half == 16),), (~jnp.isfinite(mx).all(),)


def _asym_kernel(blocks, zero, levels: int):
    """Q4_1/Q5_1: (GGUF bytes (n, 20 or 24),), (bad,)."""
    mx, mn = signed_extremes(blocks)
    d = _exact.true_div(mx - mn, float(levels))
    inv = jnp.where(d == 0, 0.0, _exact.true_div(1.0, d))
    p = launder((blocks - mn) * inv, zero)
    q = jnp.clip(jnp.trunc(p + jnp.float32(0.5)), 0, levels).astype(jnp.int32)
    packed = _block_bytes(q, [_f16_bytes(d), _f16_bytes(mn)], levels == 31)
    bad = ~(jnp.isfinite(mx) & jnp.isfinite(mn)).all()
    return (packed,), (bad,)


def _q8_kernel(blocks, zero):
    """Q8_0: (GGUF bytes (n, 34),), (bad,)."""
    mx, mn = signed_extremes(blocks)
    # max(mx, -mn) can be -0.0 for an all-zero block under fast math (no signed zeros), and
    # d = -0.0 would store 0x8000: clear the sign on the bits.
    amax = _exact.bits_f32(_exact.f32_bits(jnp.maximum(mx, -mn)) & jnp.uint32(0x7FFFFFFF))
    d = _exact.true_div(amax, 127.0)
    inv = jnp.where(d == 0, 0.0, _exact.true_div(1.0, d))
    q = jax.lax.round(launder(blocks * inv, zero)).astype(jnp.int8)  # half away from zero (C roundf)
    packed = jnp.concatenate([_f16_bytes(d), jax.lax.bitcast_convert_type(q, jnp.uint8)], axis=-1)
    return (packed,), (~jnp.isfinite(amax).all(),)


@lru_cache(maxsize=None)
def _kernel(qbits: int, with_min: bool):
    """The block kernel of a type: one object per type, so ``jit`` caches its compilation."""
    if qbits == 8:
        return _q8_kernel
    if with_min:
        return partial(_asym_kernel, levels=2 ** qbits - 1)
    return partial(_sym_kernel, half=2 ** (qbits - 1))


def _block_bytes(u, head: list, five_bits: bool):
    """GGUF block bytes (n, type_size): ``head`` (fp16 d [and m] bytes), then for 5-bit
    types the qh word, then the 16 nibble bytes of the unsigned 4/5-bit values ``u`` (n, 32)."""
    parts = list(head)
    if five_bits:
        parts.append(_qh_bytes(u))
    parts.append(_nibbles(u))
    return jnp.concatenate(parts, axis=-1)


def _pack_kernel(codes, d16, *rest, qbits: int):
    """GGUF block bytes (k, type_size) from codes (k, 32), d and (``_1`` types) m float16
    (k, 1); for QTensors not made by ``quantize``."""
    *m16, _zero = rest
    head = [_f16_bytes(d16)] + [_f16_bytes(m) for m in m16]
    if qbits == 8:
        return (jnp.concatenate(head + [jax.lax.bitcast_convert_type(codes.astype(jnp.int8), jnp.uint8)], axis=-1),), ()
    u = codes.astype(jnp.int32) + (0 if m16 else 2 ** (qbits - 1))
    return (_block_bytes(u, head, qbits == 5),), ()


def _nibbles(q):
    """(n, 32) values 0..15 (low 4 bits used) -> (n, 16) bytes: element j low, j+16 high."""
    q = q.astype(jnp.uint8)
    return (q[:, :16] & 0x0F) | ((q[:, 16:] & 0x0F) << 4)


def _qh_bytes(q):
    """(n, 32) 5-bit values -> (n, 4) bytes of bit 4, element j at bit j (little-endian u32)."""
    bits = ((q.astype(jnp.uint32) >> 4) & 1).reshape(q.shape[0], 4, 8)
    return (bits << jnp.arange(8, dtype=jnp.uint32)).sum(-1).astype(jnp.uint8)


def _unnibble(qs: np.ndarray) -> np.ndarray:
    """(n, 16) bytes -> (n, 32) int32 nibbles: element j low, j+16 high (NumPy; used by MXFP4)."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int32)


def _unpack_kernel(raw, zero, qbits: int, with_min: bool):
    """GGUF block bytes (k, type_size) -> ((codes (k, 32), d f16 (k, 1)[, m f16 (k, 1)]), ()),
    codes as in the module table (int8 q - 2**(qbits-1) for ``_0`` types, uint8 q for ``_1``)."""
    f16 = lambda b: jax.lax.bitcast_convert_type(b.reshape(-1, 1, 2), jnp.float16)
    d, rest, m = f16(raw[:, :2]), raw[:, 2:], ()
    if with_min:
        m, rest = (f16(rest[:, :2]),), rest[:, 2:]
    if qbits == 8:
        return (jax.lax.bitcast_convert_type(rest, jnp.int8), d) + m, ()
    qs = rest[:, -16:]
    q = jnp.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(jnp.int32)
    if qbits == 5:
        qh = rest[:, :4].astype(jnp.int32)
        q = q | ((((qh[:, :, None] >> jnp.arange(8)) & 1).reshape(-1, 32)) << 4)
    codes = q.astype(jnp.uint8) if with_min else (q - 2 ** (qbits - 1)).astype(jnp.int8)
    return (codes, d) + m, ()


def _dequant_kernel(codes, d16, *rest):
    """``d*code`` or ``d*q + m`` (k, 32) float32, two roundings (the product laundered)."""
    *m16, zero = rest
    y = d16.astype(jnp.float32) * codes.astype(jnp.float32)
    if m16:
        y = launder(y, zero) + m16[0].astype(jnp.float32)
    return (y,), ()


@lru_cache(maxsize=None)
def _row_kernel(kind: str, qbits: int, with_min: bool):
    """The pack / unpack kernel of a type (one object per type: ``jit`` caches on it)."""
    if kind == "pack":
        return partial(_pack_kernel, qbits=qbits)
    return partial(_unpack_kernel, qbits=qbits, with_min=with_min)


@dataclass(frozen=True)
class GgufLegacy(GgufSized):
    """One of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (see the module docstring for the semantics)."""

    name: str
    gguf_type: int
    qbits: int          # 4, 5 or 8
    with_min: bool      # the ``_1`` types store a minimum m
    block: int = 32

    # -- quantize -------------------------------------------------------------------------
    def quantize(self, x) -> QTensor:
        arr = as_array(x, self.name)
        check_shape(arr.shape, self.block, self.name)
        out, (bad,) = run_blocked(_kernel(self.qbits, self.with_min), arr, self.block)
        if bad:
            raise SimlowError(f"{self.name}: input has NaN or inf; block formats need finite values")
        return PackedQTensor(out[0], self, tuple(arr.shape))

    def dequantize(self, q: QTensor) -> jax.Array:
        rows = [host_array(q.codes).reshape(-1, self.block), host_array(q.scales).reshape(-1, 1)]
        if self.with_min:
            rows.append(host_array(q.aux["min"]).reshape(-1, 1))
        (y,), _ = run_rows(_dequant_kernel, self.block, *rows)
        return to_device(y.reshape(q.shape))

    # -- bytes ----------------------------------------------------------------------------
    def to_bytes(self, q: QTensor) -> bytes:
        packed = q.packed if isinstance(q, PackedQTensor) else self._pack(q)
        return np.asarray(packed).tobytes()

    def _pack(self, q: QTensor) -> np.ndarray:
        rows = [host_array(q.codes).reshape(-1, self.block), host_array(q.scales).reshape(-1, 1)]
        if self.with_min:
            rows.append(host_array(q.aux["min"]).reshape(-1, 1))
        (packed,), _ = run_rows(_row_kernel("pack", self.qbits, self.with_min), self.block, *rows)
        return packed

    def from_bytes(self, buf, shape) -> QTensor:
        shape = check_shape(shape, self.block, self.name)
        return self.unpack(raw_blocks(buf, shape, self.block, self.type_size, self.name), shape)

    def unpack(self, raw, shape: tuple[int, ...]) -> QTensor:
        """The QTensor of size-checked block bytes ``raw`` (any shape, ``type_size`` per block), exactly."""
        raw = host_array(raw).reshape(-1, self.type_size)
        out, _ = run_rows(_row_kernel("unpack", self.qbits, self.with_min), self.block, raw)
        lead = shape[:-1] + (-1,)
        aux = {"min": to_device(out[2].reshape(lead))} if self.with_min else {}
        return QTensor(to_device(out[0].reshape(shape)), to_device(out[1].reshape(lead)), self, shape, aux)


Q4_0 = GgufLegacy("q4_0", int(T.Q4_0), 4, False)
Q4_1 = GgufLegacy("q4_1", int(T.Q4_1), 4, True)
Q5_0 = GgufLegacy("q5_0", int(T.Q5_0), 5, False)
Q5_1 = GgufLegacy("q5_1", int(T.Q5_1), 5, True)
Q8_0 = GgufLegacy("q8_0", int(T.Q8_0), 8, False)
