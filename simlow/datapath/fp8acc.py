"""FP8 tensor core with a narrow accumulator (``FpNarrowAccUnit``), the Hopper model.

Semantics (../shared/reference/bitexact-notes.md section 6.2, from Khattak & Mikaitis,
arXiv 2512.07004; it reproduces every recorded H100 bit), per output (m, n):

1. Walk K in order in blocks of ``block_k`` (the last may be shorter). Products are exact.
2. A product's exponent is ``e(a) + e(b)`` with ``e`` the unbiased exponent field (``emin``
   for subnormals); the product is *not* renormalised (1.75*1.75 = 3.0625 has exponent 0).
3. ``e_max`` = max of the narrow accumulator's true exponent ``floor(log2|acc|)`` (if
   acc != 0) and the exponents of the block's nonzero products.
4. Every product and the accumulator are cut to the grid ``2^(e_max - frac_bits)``,
   magnitude truncated toward zero (``truncation=FLOOR`` cuts toward minus infinity
   instead), and the cut terms are added exactly.
5. The exact block sum is cut the same way to ``frac_bits + 1`` significant bits: the new
   narrow accumulator (1 sign, 8 exponent, ``frac_bits`` fraction bits).
6. ``promote_every=None``: the narrow accumulator is the fp32 output (exactly
   representable). Otherwise after every ``promote_every`` elements of K and at the end
   of K, ``out = fp32(out + acc)`` (one IEEE fp32 add, RNE) and acc restarts at 0.

Not pinned by measurements (documented defaults): RNE for the fp32 add; no subnormal
clamp of partial sums; e5m2 operands follow the same rules.

Scales: ``run(..., scale_a=, scale_b=, out_dtype=)`` applies ``torch._scaled_mm``'s
tensorwise epilogue to the fp32 result (``simlow.datapath.fp8scale``: what is measured,
scale 1, and what is not). Without scales the output is the fp32 accumulator.

Exact arithmetic, in floating point. Products of two e4m3/e5m2 values have at most 8
significant bits and exponents well inside float32's range, so ``a * b`` is exact in
float32 (e5m2 extremes: 2^-32 to 3.3e9). Scaling a product by the power of two
``2^(frac_bits - e_max)`` is exact: product exponents lie in [-28, 30] and the accumulator's
below 31 + log2(K), so ``e_max - e(p) < 100`` and the scaled value stays a normal float32;
and
``trunc``/``floor`` of the scaled value is exactly the cut product in grid units: an
integer of magnitude below ``2^(frac_bits + 2)``. A block sum of ``block_k`` of them stays
below ``block_k * 2^(frac_bits + 2)``; when that is at most 2^24 (13 fraction bits, block 32:
2^20) float32 holds every partial sum exactly, otherwise float64 is used. The narrow
accumulator has ``frac_bits + 1 <= 24`` significant bits and is held exactly in float64;
its exponent comes from ``frexp``. So every step is exact arithmetic on integers or
dyadic values, and each K block costs a few vectorized passes over (M, block_k, N).

Counts (modelled structure, per output): FP_MUL(fmt) per product; SHIFT(frac_bits+2 bits,
by up to frac_bits+2) per product and per accumulator alignment in each block;
INT_ADD(frac_bits+2+log2 block) per product (block_k terms + acc need block_k adds);
REG_WRITE(frac_bits+9) per block; FP_ADD(fp32) per promotion.
"""

from __future__ import annotations

import numpy as np

from simlow.datapath import fp8scale
from simlow.datapath.minifloat import FORMATS, bit_patterns, decode
from simlow.datapath.units import FpNarrowAccUnit, Truncation
from simlow.errors import SimlowError
from simlow.events import Event, Op, merge

_BLOCK_ELEMS = 1 << 22   # (rows, block_k, N) elements per vectorized pass
_NO_EXP = -64       # int8 exponent of a zero operand: any sum with it is below every real product


def _operands(unit: FpNarrowAccUnit, a, b):
    """Values as float32 and exponent fields as int8 (``_NO_EXP`` for zeros)."""
    fa, fb = FORMATS[unit.a_fmt], FORMATS[unit.b_fmt]
    out = []
    for x, fmt, what in ((a, fa, "a"), (b, fb, "b")):
        sign, sig, exp = decode(bit_patterns(x, fmt, what), fmt, what)
        val = np.ldexp((sign * sig).astype(np.float32), (exp - fmt.man_bits).astype(np.int32))
        out.append((val, np.where(sig == 0, _NO_EXP, exp).astype(np.int8)))
    if out[0][0].shape[1] != out[1][0].shape[0] or out[0][0].shape[1] == 0:
        raise SimlowError(f"inner dimensions differ or are empty: a {out[0][0].shape}, b {out[1][0].shape}")
    return out


def _cut(x: np.ndarray, trunc: Truncation) -> np.ndarray:
    return np.floor(x, out=x) if trunc is Truncation.FLOOR else np.trunc(x, out=x)


def _block(acc, va, ea, vb, eb, unit: FpNarrowAccUnit, dtype) -> np.ndarray:
    """One K block on float64 ``acc`` (M, N): align to the largest exponent, cut, add, cut
    the sum to frac_bits + 1 significant bits (module docstring, steps 3-5)."""
    frac = unit.frac_bits
    pmax = (ea[:, :, None] + eb[None, :, :]).max(axis=1).astype(np.int64)   # int8, no overflow
    pmax = np.where(pmax > _NO_EXP // 2, pmax, _NO_EXP * 4)                   # none: all zero
    acc_e = np.where(acc != 0, np.frexp(acc)[1] - 1, _NO_EXP * 4)
    emax = np.maximum(pmax, acc_e)
    emax = np.where(emax == _NO_EXP * 4, 0, emax)                             # nothing to add
    scale = np.ldexp(np.ones_like(acc), (frac - emax).astype(np.int32))       # 2^(frac - emax)
    prod = np.multiply(va[:, :, None], vb[None, :, :], dtype=dtype)           # exact products
    prod *= scale.astype(dtype)[:, None, :]                                   # grid units
    total = _cut(prod, unit.truncation).sum(axis=1, dtype=np.float64)
    total += _cut(acc * scale, unit.truncation)
    drop = np.maximum(np.frexp(total)[1] - (frac + 1), 0)                     # bits past frac+1
    kept = _cut(np.ldexp(total, -drop), unit.truncation)
    return np.ldexp(kept, (drop + emax - frac).astype(np.int32))


def run(unit: FpNarrowAccUnit, a, b, scale_a=None, scale_b=None,
        out_dtype=None) -> tuple[np.ndarray, dict[Event, int]]:
    """Output of ``unit`` on e4m3/e5m2 ``a`` (M, K) and ``b`` (K, N), and counts: the fp32
    accumulator, or with ``scale_a`` and ``scale_b`` the scaled ``out_dtype`` result."""
    if (scale_a is None) != (scale_b is None):
        raise SimlowError("give both scale_a and scale_b, or neither")
    if scale_a is None and out_dtype is not None:
        raise SimlowError("out_dtype applies only with scale_a and scale_b (the scaled epilogue)")
    y, counts = _accumulate(unit, a, b)
    if scale_a is None:
        return y, counts
    y = fp8scale.apply(y, scale_a, scale_b, unit.scale_order, out_dtype)
    return y, merge([counts, fp8scale.counts(*y.shape, unit.scale_order)])


def _rows(unit: FpNarrowAccUnit, va, ea, vb, eb, dtype) -> np.ndarray:
    """The K walk (steps 1-6) for a set of rows of ``a``: the fp32 output rows."""
    k = va.shape[1]
    acc = np.zeros((va.shape[0], vb.shape[1]), dtype=np.float64)
    out = np.zeros(acc.shape, dtype=np.float32)
    for k0 in range(0, k, unit.block_k):
        k1 = min(k0 + unit.block_k, k)
        acc = _block(acc, va[:, k0:k1], ea[:, k0:k1], vb[k0:k1], eb[k0:k1], unit, dtype)
        if unit.promote_every is not None and (k1 % unit.promote_every == 0 or k1 == k):
            out = out + acc.astype(np.float32)        # exact cast (<= 24 bits), one RNE add
            acc[:] = 0
    return out if unit.promote_every is not None else acc.astype(np.float32)


def _accumulate(unit: FpNarrowAccUnit, a, b) -> tuple[np.ndarray, dict[Event, int]]:
    """float32 accumulator output of ``unit`` on e4m3/e5m2 ``a`` (M, K), ``b`` (K, N), and counts."""
    (va, ea), (vb, eb) = _operands(unit, a, b)
    (m, k), n = va.shape, vb.shape[1]
    kb = min(unit.block_k, k)
    dtype = np.float32 if kb << (unit.frac_bits + 2) <= 1 << 24 else np.float64
    rows = max(1, _BLOCK_ELEMS // (kb * n))
    out = np.concatenate([_rows(unit, va[r:r + rows], ea[r:r + rows], vb, eb, dtype)
                          for r in range(0, m, rows)], axis=0)
    # promote_every is a multiple of block_k: one promotion per full stretch, one at the end
    promotions = 0 if unit.promote_every is None else -(-k // unit.promote_every)
    return out, _counts(unit, m, n, k, promotions)


def _counts(unit: FpNarrowAccUnit, m: int, n: int, k: int, promotions: int) -> dict[Event, int]:
    fmt = unit.a_fmt if unit.a_fmt == unit.b_fmt else f"{unit.a_fmt}x{unit.b_fmt}"
    blocks = -(-k // unit.block_k)
    field = unit.frac_bits + 2
    counts = {
        Event(Op.FP_MUL, fmt=fmt): m * n * k,
        Event(Op.SHIFT, field, field): m * n * (k + blocks),
        Event(Op.INT_ADD, field + (unit.block_k).bit_length()): m * n * k,
        Event(Op.REG_WRITE, unit.frac_bits + 9): m * n * blocks,
        Event(Op.FP_ADD, fmt="fp32"): m * n * promotions,
    }
    return {e: c for e, c in counts.items() if c}
