"""GGUF K-quants Q2_K..Q6_K: quantize as llama.cpp's reference quantizer does (no importance
matrix), read and dequantize (equal to gguf-py 0.19 dequantize).

Layering: uses ``base``, ``_exact``, ``kquant_ref``; registered in ``registry``.

``quantize`` runs ``kquant_ref`` (ggml's ``quantize_row_q*_K_ref`` scale search, byte-equal
to llama.cpp's output on recorded vectors; gguf-py 0.19 has no K-quant quantizer to compare
with) and reads the bytes back. A 256-element super-block is split into sub-blocks of 16 (Q2_K, Q3_K, Q6_K) or
32 (Q4_K, Q5_K). On reading, the per-sub-block effective scale ``dl = d * sc`` and minimum
``ml = dmin * m`` are formed in float32 exactly as gguf does; the QTensor then holds:

* ``codes``: int8, one per element: Q2_K q in [0,3]; Q3_K q in [-4,3]; Q4_K [0,15];
  Q5_K [0,31]; Q6_K [-32,31];
* ``scales``: float32 ``dl`` per sub-block, shape (..., n / sub);
* ``aux["min"]``: float32 ``ml`` per sub-block (Q2_K, Q4_K, Q5_K); ``aux["raw"]``: the bytes.

Dequantize: ``dl*q - ml`` (or ``dl*q``), float32 with two roundings (no FMA).
Byte layouts (gguf-py 0.19.0 ``quants.py``): Q2_K ``[scales 16: lo4 sc, hi4 m][qs 64][d][dmin]``;
Q3_K ``[hmask 32][qs 64][scales 12, 6-bit, -32][d]``; Q4_K ``[d][dmin][scales 12][qs 128]``;
Q5_K ``[d][dmin][scales 12][qh 32][qs 128]``; Q6_K ``[ql 128][qh 64][scales 16 x int8][d]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from gguf.constants import GGMLQuantizationType as T

from simlow.quant import _exact
from simlow.quant.base import GgufSized, as_input, check_shape, raw_blocks
from simlow.quant.kquant_ref import QUANTIZERS
from simlow.quant.qtensor import QTensor

QK_K = 256


def _f16(b: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(b).view(np.float16).astype(np.float32)


def _shifts(a: np.ndarray, shifts, width: int, mask: int) -> np.ndarray:
    """(n, k*width) bytes -> (n, k, len(shifts), width) fields ``(byte >> s) & mask``."""
    n = a.shape[0]
    s = np.array(shifts, dtype=np.uint8).reshape(1, 1, -1, 1)
    return (a.reshape(n, -1, 1, width) >> s) & np.uint8(mask)


def _scale_min_k4(scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = scales.shape[0]
    d, m, m_d = np.split(scales.reshape(n, 3, 4), 3, axis=-2)
    sc = np.concatenate([d & 0x3F, (m_d & 0x0F) | ((d >> 2) & 0x30)], axis=-1)
    mn = np.concatenate([m & 0x3F, (m_d >> 4) | ((m >> 2) & 0x30)], axis=-1)
    return sc.reshape(n, 8).astype(np.float32), mn.reshape(n, 8).astype(np.float32)


def _q2_k(b):
    n = b.shape[0]
    scales, qs, d, dmin = b[:, :16], b[:, 16:80], _f16(b[:, 80:82]), _f16(b[:, 82:84])
    q = _shifts(qs, [0, 2, 4, 6], 32, 3).reshape(n, 256)
    return q, d * (scales & 0xF).astype(np.float32), dmin * (scales >> 4).astype(np.float32)


def _q3_k(b):
    n = b.shape[0]
    hmask, qs, scales, d = b[:, :32], b[:, 32:96], b[:, 96:108], _f16(b[:, 108:110])
    lo = _shifts(scales[:, :8], [0, 4], 8, 0x0F).reshape(n, 16)
    hi = _shifts(scales[:, 8:], [0, 2, 4, 6], 4, 0x03).reshape(n, 16)
    sc = ((lo | (hi << 4)).astype(np.int8) - np.int8(32)).astype(np.float32)
    ql = _shifts(qs, [0, 2, 4, 6], 32, 3).reshape(n, 256)
    qh = _shifts(hmask, range(8), 32, 1).reshape(n, 256) ^ np.uint8(1)
    return ql.astype(np.int8) - (qh << 2).astype(np.int8), d * sc, None


def _q4_k(b):
    n = b.shape[0]
    d, dmin, scales, qs = _f16(b[:, :2]), _f16(b[:, 2:4]), b[:, 4:16], b[:, 16:144]
    sc, mn = _scale_min_k4(scales)
    q = _shifts(qs, [0, 4], 32, 0x0F).reshape(n, 256)
    return q, d * sc, dmin * mn


def _q5_k(b):
    n = b.shape[0]
    d, dmin, scales, qh, qs = _f16(b[:, :2]), _f16(b[:, 2:4]), b[:, 4:16], b[:, 16:48], b[:, 48:176]
    sc, mn = _scale_min_k4(scales)
    ql = _shifts(qs, [0, 4], 32, 0x0F).reshape(n, 256)
    h = _shifts(qh, range(8), 32, 1).reshape(n, 256)
    return ql | (h << 4), d * sc, dmin * mn


def _q6_k(b):
    n = b.shape[0]
    ql, qh, scales, d = b[:, :128], b[:, 128:192], b[:, 192:208], _f16(b[:, 208:210])
    lo = _shifts(ql, [0, 4], 64, 0x0F).reshape(n, 8, 32)
    hi = _shifts(qh, [0, 2, 4, 6], 32, 0x03).reshape(n, 8, 32)
    q = ((lo | (hi << 4)).astype(np.int8) - np.int8(32)).reshape(n, 256)
    return q, d * scales.view(np.int8).astype(np.float32), None


@dataclass(frozen=True)
class KQuant(GgufSized):
    """A GGUF K-quant (see the module docstring)."""

    name: str
    gguf_type: int
    sub: int
    unpack: Callable
    block: int = QK_K

    def quantize(self, x) -> QTensor:
        arr = np.asarray(as_input(x, self.name))
        shape = check_shape(arr.shape, self.block, self.name)
        with np.errstate(all="ignore"):     # all-zero and flat sub-blocks divide by 0; masked
            raw = QUANTIZERS[self.name](arr.reshape(-1, self.block))
        return self.from_bytes(raw, shape)

    def from_bytes(self, buf, shape) -> QTensor:
        shape = check_shape(shape, self.block, self.name)
        raw = raw_blocks(buf, shape, self.block, self.type_size, self.name)
        with np.errstate(invalid="ignore", over="ignore"):
            q, dl, ml = self.unpack(raw)
        lead = shape[:-1] + (-1,)
        aux = {"raw": raw.copy()}
        if ml is not None:
            aux["min"] = jnp.asarray(ml.reshape(lead))
        return QTensor(jnp.asarray(q.astype(np.int8).reshape(shape)),
                       jnp.asarray(dl.reshape(lead)), self, shape, aux)

    def dequantize(self, q: QTensor) -> jax.Array:
        codes = q.codes.reshape(-1, self.sub).astype(jnp.float32)
        y = _exact.mul(q.scales.reshape(-1, 1), codes)
        if "min" in q.aux:
            y = _exact.sub(y, q.aux["min"].reshape(-1, 1))
        return y.reshape(q.shape)

    def to_bytes(self, q: QTensor) -> bytes:
        return np.asarray(q.aux["raw"]).tobytes()


Q2_K = KQuant("q2_k", int(T.Q2_K), 16, _q2_k)
Q3_K = KQuant("q3_k", int(T.Q3_K), 16, _q3_k)
Q4_K = KQuant("q4_k", int(T.Q4_K), 32, _q4_k)
Q5_K = KQuant("q5_k", int(T.Q5_K), 32, _q5_k)
Q6_K = KQuant("q6_k", int(T.Q6_K), 16, _q6_k)
