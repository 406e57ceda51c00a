"""BF16/FP16 MAC with FP32 accumulation (``FpMacUnit``): the baseline every design meets.

Codes: ``a`` (M, K) and ``b`` (K, N) as ml_dtypes.bfloat16 / np.float16 arrays or their
uint16 bit patterns. NaN and Inf inputs are rejected.

Semantics, per output: ``acc = 0``; for k in order, ``acc = fp32(acc + a[k]*b[k])`` with
one round-to-nearest-even rounding per step (the product is exact in fp32, so this equals
an FMA). fp16 products are always exact in fp32 (11x11 significand bits, exponents within
range); a bf16 product that would be inexact in fp32 (overflow, or underflow into fp32
subnormals) is refused, since the MAC's behaviour there is not modelled. This is one MAC
chain in K order, not cuBLAS's blocked summation (notes 6.4).

Counts, per output and k: FP_MUL(fmt), FP_ADD(fp32), REG_WRITE(32).
"""

from __future__ import annotations

import numpy as np

from simlow.datapath.minifloat import FORMATS, bit_patterns
from simlow.datapath.configs import FpMacUnit
from simlow.errors import SimlowError
from simlow.events import Event, Op


def _values(x, unit: FpMacUnit, what: str) -> np.ndarray:
    fmt = FORMATS[unit.fmt]
    bits = bit_patterns(x, fmt, what).astype(np.uint16)
    vals = bits.view(fmt.dtype).astype(np.float32)
    if not np.isfinite(vals).all():
        raise SimlowError(f"{what} holds NaN or Inf, which the {unit.fmt} MAC model does not define")
    return vals


def run(unit: FpMacUnit, a, b) -> tuple[np.ndarray, dict[Event, int]]:
    """float32 output of the MAC chain on ``a`` (M, K) and ``b`` (K, N), and counts."""
    av, bv = _values(a, unit, "a"), _values(b, unit, "b")
    if av.shape[1] != bv.shape[0] or av.shape[1] == 0:
        raise SimlowError(f"inner dimensions differ or are empty: a {av.shape}, b {bv.shape}")
    (m, k), n = av.shape, bv.shape[1]
    acc = np.zeros((m, n), dtype=np.float32)
    with np.errstate(over="ignore", under="ignore"):
        for i in range(k):
            p = av[:, i, None] * bv[None, i, :]
            if unit.fmt == "bf16" and not np.array_equal(
                    p.astype(np.float64), av[:, i, None].astype(np.float64) * bv[None, i, :]):
                raise SimlowError(f"a bf16 product at k={i} is not exact in fp32 (overflow or "
                                  "subnormal underflow), which the baseline MAC does not model")
            acc = acc + p
    counts = {
        Event(Op.FP_MUL, fmt=unit.fmt): m * n * k,
        Event(Op.FP_ADD, fmt="fp32"): m * n * k,
        Event(Op.REG_WRITE, 32): m * n * k,
    }
    return acc, counts
