"""GGUF ternary block formats TQ1_0 and TQ2_0, byte-equal to gguf-py 0.19.

Layering: uses ``_exact``, ``base``; registered in ``registry``.

Block of 256: ``d = amax`` (float32, stored float16), ``t = roundf(x / d)`` computed as
``roundf(x * (1/d))`` (ties away from zero) in {-1, 0, 1}. These are meant for weights that
are already ternary times a scale (BitNet / TriLM); on generic data ``x/amax`` is mostly 0.
Codes: int8 t. Dequantize ``d * t``.

TQ2_0 bytes ``[qs 64][d f16]``: u = t+1 (2 bits); element i = c*128 + s*32 + j sits in byte
c*32 + j at bits 2s..2s+1 (LSB first).
TQ1_0 bytes ``[qs 48][qh 4][d f16]`` (ggml ``quantize_row_tq1_0_ref``): bytes 0..31 pack elements
m + 32n (n = 0..4), bytes 32..47 elements 160 + m + 16n, qh bytes m elements 240 + m + 4n
(n = 0..3); a byte holds ``q = sum u_n 3**(4-n)`` as ``ceil(q * 256 / 243)``, and trit n is
``((uint8)(byte * 3**n) * 3) >> 8``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from gguf.constants import GGMLQuantizationType as T

from simlow.errors import SimlowError
from simlow.quant import _exact
from simlow.quant._blocks import host_array, launder, run_blocked, run_rows, to_device
from simlow.quant.base import GgufSized, as_array, blocks_of, check_shape, f16_bytes, raw_blocks
from simlow.quant.qtensor import QTensor


def _quantize(blocks, zero):
    """((trits (k, 256) int8, d float16 (k, 1)), (non-finite input,)) of blocks (k, 256):
    ``d = amax``, ``roundf(x * (1/d))`` with the product laundered (no FMA into the rounding)."""
    d = jnp.abs(blocks).max(axis=-1, keepdims=True)
    inv = jnp.where(d == 0, 0.0, _exact.true_div(1.0, d))
    t = _exact.round_half_away(launder(blocks * inv, zero)).astype(jnp.int8)
    bad = ((_exact.f32_bits(blocks) & jnp.uint32(0x7F800000)) == jnp.uint32(0x7F800000)).any()
    return (t, d.astype(jnp.float16)), (bad,)


def _dequantize(t, d16, zero):
    return (d16.astype(jnp.float32) * t.astype(jnp.float32),), ()


def _pow3_pack(u: jax.Array, groups: int, width: int, weights) -> jax.Array:
    w = jnp.asarray(weights, jnp.uint16).reshape(1, groups, 1)
    q = (u.reshape(u.shape[0], groups, width).astype(jnp.uint16) * w).sum(axis=1)
    return ((q * 256 + 242) // 243).astype(jnp.uint8)


def _pack_tq1(t):
    u = t.astype(jnp.int32) + 1
    return jnp.concatenate([_pow3_pack(u[:, :160], 5, 32, [81, 27, 9, 3, 1]),
                            _pow3_pack(u[:, 160:240], 5, 16, [81, 27, 9, 3, 1]),
                            _pow3_pack(u[:, 240:], 4, 4, [81, 27, 9, 3])], axis=-1)


def _pack_tq2(t):
    u = (t.astype(jnp.int32) + 1).reshape(t.shape[0], 2, 4, 32)
    return (u << (2 * jnp.arange(4)).reshape(1, 1, 4, 1)).sum(axis=2).reshape(t.shape[0], 64).astype(jnp.uint8)


def _pack(t, d16, zero, tq1: bool):
    body = _pack_tq1(t) if tq1 else _pack_tq2(t)
    return (jnp.concatenate([body, f16_bytes(d16)], -1),), ()


_PACK = {True: partial(_pack, tq1=True), False: partial(_pack, tq1=False)}


def _unpack_pow3(b: np.ndarray, n: int) -> np.ndarray:
    mult = np.array([1, 3, 9, 27, 81][:n], dtype=np.uint8).reshape(1, n, 1)
    prod = (b[:, None, :] * mult).astype(np.uint8)                  # wraps mod 256, as uint8
    return ((prod.astype(np.uint16) * 3) >> 8).astype(np.int8).reshape(b.shape[0], -1) - 1


def _unpack_tq1(raw: np.ndarray) -> np.ndarray:
    return np.concatenate([_unpack_pow3(raw[:, :32], 5), _unpack_pow3(raw[:, 32:48], 5),
                           _unpack_pow3(raw[:, 48:52], 4)], axis=-1)


def _unpack_tq2(raw: np.ndarray) -> np.ndarray:
    q = raw[:, :64].reshape(-1, 2, 1, 32) >> (2 * np.arange(4, dtype=np.uint8)).reshape(1, 1, 4, 1)
    return ((q & 3).astype(np.int8) - 1).reshape(raw.shape[0], 256)


@dataclass(frozen=True)
class GgufTernary(GgufSized):
    name: str
    gguf_type: int
    block: int = 256

    def quantize(self, x) -> QTensor:
        arr = as_array(x, self.name)
        (t, d), (bad,) = run_blocked(_quantize, blocks_of(arr, self.block, self.name), self.block)
        if bad:
            raise SimlowError(f"{self.name}: input has NaN or inf; block formats need finite values")
        shape = tuple(arr.shape)
        return QTensor(to_device(t.reshape(shape)), to_device(d.reshape(shape[:-1] + (-1,))), self, shape)

    def dequantize(self, q: QTensor) -> jax.Array:
        (y,), _ = run_rows(_dequantize, self.block, *self._rows(q))
        return to_device(y.reshape(q.shape))

    def to_bytes(self, q: QTensor) -> bytes:
        (raw,), _ = run_rows(_PACK[self.gguf_type == int(T.TQ1_0)], self.block, *self._rows(q))
        return raw.tobytes()

    def _rows(self, q: QTensor) -> tuple[np.ndarray, np.ndarray]:
        return host_array(q.codes).reshape(-1, self.block), host_array(q.scales).reshape(-1, 1)

    def from_bytes(self, buf, shape) -> QTensor:
        shape = check_shape(shape, self.block, self.name)
        raw = raw_blocks(buf, shape, self.block, self.type_size, self.name)
        t = _unpack_tq1(raw) if self.gguf_type == int(T.TQ1_0) else _unpack_tq2(raw)
        d = np.ascontiguousarray(raw[:, -2:]).view(np.float16)
        return QTensor(to_device(t.reshape(shape)), to_device(d.reshape(shape[:-1] + (-1,))), self, shape)


TQ1_0 = GgufTernary("tq1_0", int(T.TQ1_0))
TQ2_0 = GgufTernary("tq2_0", int(T.TQ2_0))
