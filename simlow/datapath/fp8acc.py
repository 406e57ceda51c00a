"""FP8 tensor core with a narrow accumulator (``FpNarrowAccUnit``), the Hopper model.

Semantics (after Khattak & Mikaitis, "Accurate models of NVIDIA tensor cores",
arXiv 2512.07004; it reproduces every bit of tests/vectors/h100_tc_dev_vectors.npz), per output (m, n):

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
``2^(frac_bits - e_max)`` is exact: product exponents lie in [-28, 30] and the
accumulator's below 31 + log2(K), so ``e_max - e(p) < 100`` and the scaled value stays a
normal float32. ``trunc``/``floor`` of it is then exactly the cut product in grid units, an
integer of magnitude below ``2^(frac_bits + 2)``. A block sum of ``block_k`` of them stays
below ``block_k * 2^(frac_bits + 2)``; when that is at most 2^24 (13 fraction bits, block
32: 2^20) float32 holds every partial sum exactly, in any order, otherwise float64 is used.
The narrow accumulator has ``frac_bits + 1 <= 24`` significant bits and is held exactly in
float64; its exponent comes from ``frexp``. Each block's largest product exponent comes
from one batched float64 matmul of powers of two for many blocks at once (exact; see
``_block_exponents``). So every step is exact arithmetic on integers or dyadic values, and
each K block costs four vectorized passes over (M, block_k, N): multiply, scale, cut, sum.

Counts (modelled structure, per output): FP_MUL(fmt) per product; SHIFT(frac_bits+2 bits,
by up to frac_bits+2) per product and per accumulator alignment in each block;
INT_ADD(frac_bits+2+log2 block) per product (block_k terms + acc need block_k adds);
REG_WRITE(frac_bits+9) per block; FP_ADD(fp32) per promotion.
"""

from __future__ import annotations

import numpy as np

from simlow.datapath import fp8scale
from simlow.datapath.minifloat import FORMATS, bit_patterns, decode
from simlow.datapath.configs import FpNarrowAccUnit, Truncation
from simlow.errors import SimlowError
from simlow.events import Event, Op, merge

_BLOCK_ELEMS = 1 << 22   # (rows, block_k, N) elements per vectorized pass
_BATCH = 16              # K blocks per batched exponent matmul
_NONE = -(1 << 20)       # exponent of "no nonzero term"


def _operands(unit: FpNarrowAccUnit, a, b):
    """Values as float32 and exponent fields (int64; ``_NONE`` for zeros)."""
    fa, fb = FORMATS[unit.a_fmt], FORMATS[unit.b_fmt]
    out = []
    for x, fmt, what in ((a, fa, "a"), (b, fb, "b")):
        sign, sig, exp = decode(bit_patterns(x, fmt, what), fmt, what)
        val = np.ldexp((sign * sig).astype(np.float32), (exp - fmt.layout.mbits).astype(np.int32))
        out.append((val, np.where(sig == 0, _NONE, exp)))
    if out[0][0].shape[1] != out[1][0].shape[0] or out[0][0].shape[1] == 0:
        raise SimlowError(f"inner dimensions differ or are empty: a {out[0][0].shape}, "
                          f"b {out[1][0].shape}")
    return out


def _cut(x: np.ndarray, trunc: Truncation) -> np.ndarray:
    return np.floor(x, out=x) if trunc is Truncation.FLOOR else np.trunc(x, out=x)


def _block_exponents(ea, eb, block_k: int):
    """Per K block, the largest exponent ``e(a) + e(b)`` of a nonzero product, (M, N) int64
    (``_NONE`` where every product is zero), ``_BATCH`` blocks per batched matmul.

    With ``t = bit_length(block_k)`` (so ``2^t > block_k``), ``S = sum_k 2^(t (ea + eb))``
    over the block's nonzero products lies in ``[2^(t pmax), block_k 2^(t pmax)]``: the
    terms are powers of two (exact products), and a float64 sum of nonnegative terms never
    rounds below its largest term nor, with at most 2^t terms, up to ``2^(t (pmax + 1))``.
    So ``floor(floor(log2 S) / t) = pmax`` exactly (float64 range: ``t |e| < 1000``).
    """
    t = block_k.bit_length()
    (m, k), n = ea.shape, eb.shape[1]
    blocks = -(-k // block_k)
    pad = blocks * block_k - k
    # clip only keeps exp2 of the _NONE sentinel finite; real exponents lie in [-14, 15]
    pa = np.pad(np.where(ea == _NONE, 0.0, np.exp2(t * ea.clip(-60, 60))), ((0, 0), (0, pad)))
    pb = np.pad(np.where(eb == _NONE, 0.0, np.exp2(t * eb.clip(-60, 60))), ((0, pad), (0, 0)))
    pa = np.ascontiguousarray(pa.reshape(m, blocks, block_k).transpose(1, 0, 2))
    pb = pb.reshape(blocks, block_k, n)
    for b0 in range(0, blocks, _BATCH):
        s = np.matmul(pa[b0:b0 + _BATCH], pb[b0:b0 + _BATCH])               # (batch, M, N)
        e = np.where(s > 0, np.floor_divide(np.frexp(s)[1] - 1, t), _NONE)
        yield from e


def _block(acc, pmax, va, vb, unit: FpNarrowAccUnit, buf: np.ndarray) -> np.ndarray:
    """One K block on float64 ``acc`` (M, N): align to the largest exponent, cut, add, cut
    the sum to frac_bits + 1 significant bits (module docstring, steps 3-5). ``buf`` is
    scratch of shape (M, block, N) in the block dtype."""
    frac = unit.frac_bits
    acc_e = np.where(acc != 0, np.frexp(acc)[1] - 1, _NONE)
    emax = np.maximum(pmax, acc_e)
    emax = np.where(emax == _NONE, 0, emax)                                   # nothing to add
    scale = np.ldexp(np.ones_like(acc), (frac - emax).astype(np.int32))       # 2^(frac - emax)
    prod = np.multiply(va[:, :, None], vb[None, :, :], out=buf)               # exact products
    prod *= scale.astype(buf.dtype)[:, None, :]                               # grid units
    total = _cut(prod, unit.truncation).sum(axis=1).astype(np.float64)       # exact: < 2^24/2^53
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
    pmaxes = _block_exponents(ea, eb, unit.block_k)
    scratch = np.empty((va.shape[0], min(unit.block_k, k), vb.shape[1]), dtype=dtype)
    for k0 in range(0, k, unit.block_k):
        k1 = min(k0 + unit.block_k, k)
        acc = _block(acc, next(pmaxes), va[:, k0:k1], vb[k0:k1], unit, scratch[:, :k1 - k0])
        if unit.promote_every is not None and (k1 % unit.promote_every == 0 or k1 == k):
            out = out + acc.astype(np.float32)        # exact cast (<= 24 bits), one RNE add
            acc[:] = 0
    return out if unit.promote_every is not None else acc.astype(np.float32)


def _accumulate(unit: FpNarrowAccUnit, a, b) -> tuple[np.ndarray, dict[Event, int]]:
    """fp32 accumulator output of ``unit`` on e4m3/e5m2 ``a`` (M, K), ``b`` (K, N), and counts."""
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
