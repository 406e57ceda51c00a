"""OCP Microscaling (MX v1.0) block formats and NVIDIA NVFP4.

Layering: uses ``minifloat`` (bit-level casts), ``_exact``; registered in ``registry``.

MX (block 32, one E8M0 scale ``X = 2**shared`` per block; spec:
https://www.opencompute.org/documents/ocp-microscaling-formats-mx-v1-0-spec-final-pdf):
``shared = floor(log2(amax)) - emax_elem`` (§6.3 Algorithm 1: a floor, not the generic
nearest E8M0 cast of ``numerics``), clipped to E8M0's [-127, 127], with the exponent read
from the float bits (float32 subnormal amax included)
(exact; the float32 ``log2`` of references is wrong a few ulps below powers of two, see
float32 ``log2(nextafter(16, 0)) == 4``; torchao's FLOOR mode reads the bits too). An all-zero block uses the
smallest scale (shared = -127). Elements: ``P = RNE(V / X)`` with saturation of overflow to
+-max normal (spec Algorithm 1, microxcaling ``round="even"``); ``V / X`` is applied as an
exponent offset inside the integer cast, so it never rounds twice.
MXINT8: ``q = clip(RNE(V / X * 64), -127, 127)``, value ``q * X / 64`` (emax_elem = 0;
-128 never produced, as microxcaling).

Codes: uint8 element bit patterns (E4M3/E5M2/E3M2/E2M3/E2M1, right-aligned) or int8 for
MXINT8; ``scales``: uint8 E8M0 codes, one per block, shape (..., n/32).

NVFP4 (``nvfp4``; torchao ``nvfp4_tensor.py::_nvfp4_quantize`` with a per-tensor scale):
block 16, per-tensor ``pts = amax_tensor / 2688`` (448*6; 1 for an all-zero tensor),
``s = e4m3_RNE(clip(amax_block / 6 / pts, 2**-6, 448))`` (the lower clip is torchao's
``E4M3_EPS``, recalled as ``finfo(e4m3fn).tiny``: an assumption), ``total = pts * s``,
``q = e2m1_RNE(clip(x / total, -6, 6))``; dequantize ``value(q) * total``. All float32 with
one rounding per operation. Codes uint8 E2M1; scales uint8 E4M3 codes; ``aux["tensor_scale"]``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp

from simlow.quant import _exact, minifloat
from simlow.quant.base import as_input, blocks_of
from simlow.numerics import E2M1, E2M3, E3M2, E4M3FN, E5M2, FpFormat, Overflow
from simlow.quant.qtensor import QTensor


@partial(jax.jit, static_argnums=1)
def _shared_exp(blocks, emax: int):
    amax = _exact.abs_max(blocks)
    e = jnp.where(_exact.is_nonzero(amax), _exact.floor_log2(amax) - emax, -127)
    return jnp.clip(e, -127, 127)


@jax.jit
def _int8_codes(blocks, shared):
    s, big_m, e, zero, _, _ = minifloat.split_f32(blocks)
    k = jnp.clip(23 - (e - shared + 6), 1, 30)
    n = jnp.minimum(minifloat._rne_shift(big_m, k), 127)
    return jnp.where(zero, 0, jnp.where(s == 1, -n, n)).astype(jnp.int8)


@jax.jit
def _int8_values(codes, shared):
    q = codes.astype(jnp.int32)
    bits = minifloat.int_pow2_bits(jnp.abs(q), shared - 6)
    bits = bits.astype(jnp.uint32) | (jnp.uint32(1 << 31) * (q < 0))
    return _exact.bits_f32(bits)


@dataclass(frozen=True)
class MxFormat:
    """An OCP MX format: ``elem`` is the element FpFormat, or None for MXINT8."""

    name: str
    elem: FpFormat | None
    storage: str | None
    block: int = 32

    @property
    def bits_per_weight(self) -> float:
        return (self.elem.bits if self.elem else 8) + 8 / self.block

    @property
    def _sat(self) -> FpFormat:
        return dataclasses.replace(self.elem, overflow=Overflow.SATURATE)

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        blocks = blocks_of(arr, self.block, self.name)
        shared = _shared_exp(blocks, self.elem.emax if self.elem else 0)
        if self.elem is None:
            codes = _int8_codes(blocks, shared)
        else:
            codes = minifloat.encode(blocks, self._sat, shared)
        scales = (shared + 127).astype(jnp.uint8).reshape(arr.shape[:-1] + (-1,))
        return QTensor(codes.reshape(arr.shape), scales, self, arr.shape)

    def dequantize(self, q: QTensor) -> jax.Array:
        codes = q.codes.reshape(-1, self.block)
        shared = q.scales.reshape(-1, 1).astype(jnp.int32) - 127
        if self.elem is None:
            return _int8_values(codes, shared).reshape(q.shape)
        return minifloat.decode(codes, self.elem, shared).reshape(q.shape)


MXFP8_E4M3 = MxFormat("mxfp8_e4m3", E4M3FN, "mxfp8")
MXFP8_E5M2 = MxFormat("mxfp8_e5m2", E5M2, "mxfp8")
MXFP6_E3M2 = MxFormat("mxfp6_e3m2", E3M2, "mxfp6")
MXFP6_E2M3 = MxFormat("mxfp6_e2m3", E2M3, "mxfp6")
MXFP4_OCP = MxFormat("mxfp4_ocp", E2M1, "mxfp4")
MXINT8 = MxFormat("mxint8", None, "mxint8")


@jax.jit
def _nvfp4(blocks, pts):
    bscale = _exact.true_div(jnp.abs(blocks).max(axis=-1, keepdims=True), 6.0)
    s = jnp.clip(_exact.true_div(bscale, pts), 2.0 ** -6, 448.0)
    s_code = minifloat._encode(s, jnp.int32(0), E4M3FN)
    return s_code, minifloat._decode(s_code, jnp.int32(0), E4M3FN)


@jax.jit
def _nvfp4_elems(blocks, total):
    v = jnp.clip(_exact.true_div(blocks, total), -6.0, 6.0)
    return minifloat._encode(v, jnp.int32(0), E2M1)


@dataclass(frozen=True)
class NvFp4:
    """NVIDIA NVFP4 with a per-tensor float32 scale (see the module docstring)."""

    name: str = "nvfp4"
    storage: str | None = "nvfp4_tensor"
    block: int = 16

    @property
    def bits_per_weight(self) -> float:
        return 4 + 8 / self.block

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        blocks = blocks_of(arr, self.block, self.name)
        amax = jnp.abs(arr).max()
        pts = jnp.where(amax > 0, _exact.true_div(amax, 2688.0), 1.0)
        s_code, s_val = _nvfp4(blocks, pts)
        total = _exact.mul(pts, s_val)
        codes = _nvfp4_elems(blocks, total)
        return QTensor(codes.reshape(arr.shape), s_code.reshape(arr.shape[:-1] + (-1,)), self,
                       arr.shape, {"tensor_scale": pts})

    def dequantize(self, q: QTensor) -> jax.Array:
        s_val = minifloat.decode(q.scales.reshape(-1, 1), E4M3FN)
        total = _exact.mul(q.aux["tensor_scale"], s_val)
        vals = minifloat.decode(q.codes.reshape(-1, self.block), E2M1)
        return _exact.mul(vals, total).reshape(q.shape)


NVFP4 = NvFp4()
