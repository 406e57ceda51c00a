"""Exact integer matrix products computed on fast floating-point matmuls.

``int_matmul(a, b)`` returns the exact int64 product of two integer matrices. It maps the
work onto BLAS float32 (or float64) matmuls over K chunks and adds the chunk results in
int64.

Proof of exactness. Let ``p = max|a| * max|b|`` and let a chunk have ``k_c`` terms. Any
intermediate value a BLAS kernel forms for one output of the chunk (a product, a partial
sum in any order or association, with or without FMA) is an integer whose magnitude is at
most ``k_c * p``. If ``k_c * p <= 2^24`` (float32) or ``<= 2^53`` (float64), every such
integer is exactly representable, and an IEEE operation whose exact result is
representable returns it unrounded. So every chunk result is exact, and the int64 sum of
the chunk results is exact while ``K * p < 2^63``. This needs only that BLAS forms sums of
the products (true of the classical algorithm OpenBLAS and MKL use; a Strassen-style
kernel would break it). Operands convert exactly: ``|a|, |b| <= 2^24``.
"""

from __future__ import annotations

import numpy as np

from simlow.errors import SimlowError

F32_EXACT = 1 << 24
F64_EXACT = 1 << 53
_MIN_F32_CHUNK = 64  # below this, float64 chunks are faster than many float32 calls


def max_abs(x: np.ndarray) -> int:
    """Largest magnitude in an integer array (0 for an empty one)."""
    if x.size == 0:
        return 0
    return int(max(abs(int(x.max())), abs(int(x.min()))))


def chunk_plan(k: int, bound: int) -> tuple[type, int]:
    """The float dtype and K chunk that keep every partial sum exact for product bound ``bound``."""
    if bound == 0:
        return np.float32, max(k, 1)
    c32 = F32_EXACT // bound
    if c32 >= min(k, _MIN_F32_CHUNK):
        return np.float32, max(1, min(k, c32))
    c64 = F64_EXACT // bound
    if c64 < 1:
        raise SimlowError(f"integer product bound {bound} exceeds 2^53; operands too wide")
    return np.float64, min(k, c64)


def int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact ``a @ b`` for integer ``a`` (M, K) and ``b`` (K, N), as int64 (see module proof)."""
    k = a.shape[1]
    bound = max_abs(a) * max_abs(b)
    if k * bound >= 1 << 62:
        raise SimlowError(f"exact dot products would exceed int64 (K={k}, product bound {bound})")
    dtype, chunk = chunk_plan(k, bound)
    if chunk >= k:
        return (a.astype(dtype) @ b.astype(dtype)).astype(np.int64)
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.int64)
    for k0 in range(0, k, chunk):
        part = a[:, k0:k0 + chunk].astype(dtype) @ b[k0:k0 + chunk].astype(dtype)
        out += part.astype(np.int64)
    return out


def abs_bound_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact ``|a| @ |b|``: per output, a bound on every partial sum's magnitude."""
    return int_matmul(np.abs(a.astype(np.int64)), np.abs(b.astype(np.int64)))
