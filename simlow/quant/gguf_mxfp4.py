"""GGUF MXFP4 (ggml flavour), byte-equal to gguf-py 0.19 ``quants.MXFP4``.

Layering: uses ``_exact``, ``base``; registered in ``registry`` as ``mxfp4``.

Block of 32: ``e = floor(log2(amax)) - 2 + 127`` (uint8 E8M0; 0 for an all-zero block),
``d = 2**(e - 128)`` (half the E8M0 value, because ggml's table holds doubled E2M1 values
``k = (0,1,2,3,4,6,8,12, 0,-1,-2,-3,-4,-6,-8,-12)``), code = argmin_i |d*k_i - x| with
the float32-rounded error and the *first* index on ties: ties go to the smaller magnitude
(0.75 -> 0.5, 2.5 -> 2 in E2M1 units; OCP RNE would give 1 and 2) and -tiny -> +0 (code 0).
Values beyond 6 * 2**(e-127) clamp to +-6. Only the two neighbours that bracket x can tie
(the grid spacing dwarfs one ulp of the error), so the argmin is evaluated on those two.

Codes: uint8 E2M1 bit patterns (= ggml table index); scales: uint8 ``e`` per block.
Bytes: ``[e][qs 16]``, qs byte j = element j (low nibble) | element j+16 (high nibble).

Known divergence from gguf-py (documented, avoided by the tests): gguf takes the exponent
from float32 ``np.log2``, which rounds up for amax 1-7 ulps below 2**k (k >= 3), giving
``e`` one too large; here the exponent is exact. For amax < 2**-125 gguf's ``e`` is negative
and numpy's float-to-uint8 cast wraps it (x86: mod 256); that wrap is reproduced here.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from gguf.constants import GGMLQuantizationType as T

from simlow.errors import SimlowError
from simlow.quant import _exact, minifloat
from simlow.quant._blocks import host_array, run_blocked, run_rows, to_device
from simlow.quant.base import GgufSized, as_array, blocks_of, check_shape, raw_blocks
from simlow.quant.gguf_legacy import _nibbles, _unnibble
from simlow.quant.qtensor import QTensor

_MAG = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
KVALUES = (0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12)


@jax.jit
def _half_scale(e):
    """ggml ``e8m0_to_fp32_half``: 2**(e-128) as float32 bits."""
    e = e.astype(jnp.uint32)
    bits = jnp.where(e < 2, jnp.uint32(0x00200000) << e, (e - 1) << 23)
    return _exact.bits_f32(bits)


def _codes(blocks, zero):
    """((codes (k, 32) uint8, e (k, 1) uint8), (non-finite input,)) of blocks (k, 32)."""
    amax = _exact.abs_max(blocks)
    e = jnp.where(_exact.is_nonzero(amax), jnp.mod(_exact.floor_log2(amax) + 125, 256), 0)
    # Compare on |x| * 2**sc with sc = 126 - e, so that d becomes 2**-2: the scaling is built
    # from integer bits (exact), and keeps every value that can decide a code normal, away
    # from XLA's flush-to-zero of subnormals (gguf's numpy keeps gradual underflow). Scaling
    # by a power of two commutes with float32 rounding, so the rounded errors compare as
    # gguf's do; values flushed or truncated here are far below d/2 and code 0 either way.
    _, big_m, ex, zero, _, _ = minifloat.split_f32(blocks)
    a = _exact.bits_f32(jnp.where(zero, 0, minifloat.int_pow2_bits(big_m.astype(jnp.int32), ex - 23 + 126 - e)))
    d = jnp.float32(0.25)
    mags = jnp.asarray(_MAG, jnp.float32)
    cnt = (a[..., None] >= mags[1:] * d).sum(-1)      # index of lo in _MAG
    hi_i = jnp.minimum(cnt + 1, 7)
    err_lo = a - mags[cnt] * d                                      # exact product, one rounding
    err_hi = mags[hi_i] * d - a
    pos = jnp.where(err_hi < err_lo, hi_i, cnt)
    neg = (_exact.f32_bits(blocks) >> 31) == 1
    code = jnp.where(neg & (pos > 0), pos + 8, pos)
    bad = ((_exact.f32_bits(blocks) & jnp.uint32(0x7F800000)) == jnp.uint32(0x7F800000)).any()
    return (code.astype(jnp.uint8), e.astype(jnp.uint8)), (bad,)


def _values(codes, e, zero):
    """``k[code] * 2**(e-128)`` built from integer bits (exact, also for subnormal d)."""
    k = jnp.asarray(KVALUES, jnp.int32)[codes.astype(jnp.int32)]
    bits = minifloat.int_pow2_bits(jnp.abs(k), e.astype(jnp.int32) - 128).astype(jnp.uint32)
    return (_exact.bits_f32(bits | (jnp.uint32(1 << 31) * (k < 0))),), ()


def _pack(codes, e, zero):
    """GGUF bytes (k, 17) of codes (k, 32) and exponents (k, 1)."""
    return (jnp.concatenate([e.astype(jnp.uint8), _nibbles(codes)], axis=-1),), ()


@dataclass(frozen=True)
class GgufMxfp4(GgufSized):
    name: str = "mxfp4"
    gguf_type: int = int(T.MXFP4)
    block: int = 32

    def quantize(self, x) -> QTensor:
        arr = as_array(x, self.name)
        (codes, e), (bad,) = run_blocked(_codes, blocks_of(arr, self.block, self.name), self.block)
        if bad:
            raise SimlowError(f"{self.name}: input has NaN or inf; block formats need finite values")
        shape = tuple(arr.shape)
        return QTensor(to_device(codes.reshape(shape)), to_device(e.reshape(shape[:-1] + (-1,))), self, shape)

    def dequantize(self, q: QTensor) -> jax.Array:
        (y,), _ = run_rows(_values, self.block, *self._rows(q))
        return to_device(y.reshape(q.shape))

    def to_bytes(self, q: QTensor) -> bytes:
        return self._pack(q).tobytes()

    def _pack(self, q: QTensor) -> np.ndarray:
        (raw,), _ = run_rows(_pack, self.block, *self._rows(q))
        return raw

    def _rows(self, q: QTensor) -> tuple[np.ndarray, np.ndarray]:
        return host_array(q.codes).reshape(-1, self.block), host_array(q.scales).reshape(-1, 1)

    def from_bytes(self, buf, shape) -> QTensor:
        shape = check_shape(shape, self.block, self.name)
        raw = raw_blocks(buf, shape, self.block, self.type_size, self.name)
        codes = _unnibble(raw[:, 1:]).astype(np.uint8)
        return QTensor(to_device(codes.reshape(shape)), to_device(raw[:, :1].reshape(shape[:-1] + (-1,))), self, shape)


MXFP4 = GgufMxfp4()
