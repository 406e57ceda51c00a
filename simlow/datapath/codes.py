"""Checking integer code arrays at the boundary (shapes, dtypes, ranges)."""

from __future__ import annotations

import numpy as np

from simlow.errors import SimlowError


def int_codes(x, bits: int, what: str, ndim: int = 2) -> np.ndarray:
    """``x`` as an int64 array of signed ``bits``-bit codes, or a SimlowError saying why not."""
    arr = np.asarray(x)
    if arr.ndim != ndim:
        raise SimlowError(f"{what} must be a {ndim}-D array of integer codes, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise SimlowError(f"{what} must hold integer codes (int8/int16/int32/int64), got {arr.dtype}")
    narrow = arr.dtype.kind == "i" and arr.dtype.itemsize * 8 <= bits   # in range by its type
    arr = arr.astype(np.int64)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if arr.size and not narrow and (arr.min() < lo or arr.max() > hi):
        raise SimlowError(f"{what} codes must lie in [{lo}, {hi}] for {bits}-bit operands, "
                          f"got [{arr.min()}, {arr.max()}]")
    return arr


def matmul_shapes(a: np.ndarray, b_rows: int, what: str = "w") -> None:
    if a.shape[1] != b_rows:
        raise SimlowError(f"inner dimensions differ: a is {a.shape}, {what} has {b_rows} rows")
    if a.shape[1] == 0:
        raise SimlowError("K must be at least 1")


def ternary_codes(w, what: str = "w") -> np.ndarray:
    arr = np.asarray(w)
    if arr.ndim != 2 or arr.dtype.kind not in "iu":
        raise SimlowError(f"{what} must be a 2-D integer array of ternary codes, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and not np.isin(arr, (-1, 0, 1)).all():
        raise SimlowError(f"{what} ternary codes must be -1, 0 or +1")
    return arr


def nonzero_products(a: np.ndarray, b: np.ndarray) -> int:
    """How many of the M*N*K products a(m,k)*b(k,n) have both operands nonzero."""
    return int(np.dot(np.count_nonzero(a, axis=0).astype(np.int64),
                      np.count_nonzero(b, axis=1).astype(np.int64)))
