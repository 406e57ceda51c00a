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

Exact arithmetic: every value is an integer multiple of ``2^L`` with ``L`` the smallest
nonzero product's LSB, held in int64; a run whose span would pass 2^62 is refused.

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

_NONE = -(1 << 40)  # exponent sentinel for "no nonzero term"


def _bit_length(x: np.ndarray) -> np.ndarray:
    """bit_length of nonnegative int64 values below 2^53 (exact through float64)."""
    return np.frexp(x.astype(np.float64))[1].astype(np.int64)


def _cut(x: np.ndarray, g: np.ndarray, trunc: Truncation) -> np.ndarray:
    """``x`` cut to a multiple of ``2^g`` (``g <= 0``: unchanged)."""
    g = np.clip(g, 0, 62)
    if trunc is Truncation.FLOOR:
        return (x >> g) << g
    mag = (np.abs(x) >> g) << g
    return np.where(x < 0, -mag, mag)


def _operands(unit: FpNarrowAccUnit, a, b):
    fa, fb = FORMATS[unit.a_fmt], FORMATS[unit.b_fmt]
    sa, ma, ea = decode(bit_patterns(a, fa, "a"), fa, "a")
    sb, mb, eb = decode(bit_patterns(b, fb, "b"), fb, "b")
    if sa.shape[1] != sb.shape[0] or sa.shape[1] == 0:
        raise SimlowError(f"inner dimensions differ or are empty: a {sa.shape}, b {sb.shape}")
    lo = (int(ea[ma != 0].min(initial=fa.emin)) + int(eb[mb != 0].min(initial=fb.emin)))
    hi = int(ea.max()) + int(eb.max())
    span = hi - lo + 2 * (max(fa.man_bits, fb.man_bits) + 1) + int(sa.shape[1]).bit_length() + 1
    if span > 52:
        raise SimlowError(f"exponent span {hi - lo} too wide for the exact int64 FP8 model "
                          "(keep e5m2 operands within about 2^20 of each other)")
    return (sa * ma, ea), (sb * mb, eb), lo, fa.man_bits + fb.man_bits


def _block(acc, pa, ea, pb, eb, lo: int, lsb: int, unit: FpNarrowAccUnit) -> np.ndarray:
    """One K block: align to the largest exponent, cut, add, cut to frac_bits + 1 bits."""
    sig = pa[:, :, None] * pb[None, :, :]                     # (M, kb, N) signed significands
    pexp = ea[:, :, None] + eb[None, :, :]                     # product exponents
    prod = np.abs(sig) << (pexp - lo)                          # in units of 2^L, L = lo - man
    prod = np.where(sig < 0, -prod, prod)
    emax = np.where(sig != 0, pexp, _NONE).max(axis=1)         # (M, N)
    acc_e = np.where(acc != 0, _bit_length(np.abs(acc)) - 1 + lsb, _NONE)
    emax = np.maximum(emax, acc_e)
    g = emax - unit.frac_bits - lsb
    total = _cut(prod, g[:, None, :], unit.truncation).sum(axis=1) + _cut(acc, g, unit.truncation)
    drop = _bit_length(np.abs(total)) - (unit.frac_bits + 1)
    return _cut(total, drop, unit.truncation)


def _to_f32(acc: np.ndarray, lsb_exp: int) -> np.ndarray:
    return np.ldexp(acc.astype(np.float64), lsb_exp).astype(np.float32)


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


def _accumulate(unit: FpNarrowAccUnit, a, b) -> tuple[np.ndarray, dict[Event, int]]:
    (pa, ea), (pb, eb), lo, man = _operands(unit, a, b)
    m, k = pa.shape
    n = pb.shape[1]
    lsb = lo - man
    acc = np.zeros((m, n), dtype=np.int64)
    out = np.zeros((m, n), dtype=np.float32)
    promotions = 0
    for k0 in range(0, k, unit.block_k):
        k1 = min(k0 + unit.block_k, k)
        acc = _block(acc, pa[:, k0:k1], ea[:, k0:k1], pb[k0:k1], eb[k0:k1], lo, lsb, unit)
        if unit.promote_every is not None and (k1 % unit.promote_every == 0 or k1 == k):
            out = out + _to_f32(acc, lsb)
            acc[:] = 0
            promotions += 1
    if unit.promote_every is None:
        out = _to_f32(acc, lsb)
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
