"""FP8 narrow-accumulator tensor core: the H100 bits, and an independent Fraction reference."""

from __future__ import annotations

import importlib.util
import math
from fractions import Fraction
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from simlow import datapath as dp
from simlow.datapath import FpNarrowAccUnit, Truncation
from simlow.errors import SimlowError
from simlow.events import Event, Op

_spec = importlib.util.spec_from_file_location("dp_refs", Path(__file__).with_name("refs.py"))
refs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refs)

E4M3 = ml_dtypes.float8_e4m3fn


@pytest.mark.parametrize("fast", [True, False])
def test_h100_fp8_vectors_every_bit(fast):
    z = refs.h100_vectors()
    key = "fast" if fast else "slow"
    for i in range(int(z["fp8_n"])):
        a, b = z[f"fp8_{i}_a"], z[f"fp8_{i}_b"]
        y = dp.matmul(a, b, unit="h100-fp8", fast_accum=fast)
        assert y.dtype == np.float32
        assert np.array_equal(y.view(np.uint32), z[f"fp8_{i}_out_{key}"]), f"fp8 case {i} ({key})"
        # the same through ml_dtypes arrays
        if i % 9 == 0:
            y2 = dp.matmul(a.view(E4M3), b.view(E4M3), unit="h100-fp8", fast_accum=fast)
            assert np.array_equal(y2.view(np.uint32), y.view(np.uint32))


def test_vectors_discriminate_fraction_bits():
    """The recorded bits pin 13 fraction bits: 12 or 14 miss some case."""
    z = refs.h100_vectors()
    for bits in (12, 14):
        unit = FpNarrowAccUnit("x", frac_bits=bits)
        assert any(not np.array_equal(dp.matmul(z[f"fp8_{i}_a"], z[f"fp8_{i}_b"], unit=unit).view(np.uint32),
                                      z[f"fp8_{i}_out_fast"]) for i in range(int(z["fp8_n"])))


def _exp_field(v: float, emin: int = -6) -> int:
    """Unbiased exponent field of a nonzero value (``emin`` for subnormals: -6 e4m3, -14 e5m2)."""
    return max(math.frexp(abs(v))[1] - 1, emin)


def _trunc_to(x: Fraction, e: int, floor: bool = False) -> Fraction:
    if floor:
        return Fraction(math.floor(x / Fraction(2) ** e)) * Fraction(2) ** e
    mag = Fraction(math.floor(abs(x) / Fraction(2) ** e)) * Fraction(2) ** e
    return mag if x >= 0 else -mag


def _log2_floor(x: Fraction) -> int:
    x = abs(x)
    e = x.numerator.bit_length() - x.denominator.bit_length()
    return e - 1 if Fraction(2) ** e > x else e


def ref_dot(avals, bvals, frac=13, block=32, promote=None, floor=False, emins=(-6, -6)) -> np.float32:
    """Scalar model of notes 6.2 in Fractions, written apart from simlow."""
    acc, out = Fraction(0), np.float32(0)
    k = len(avals)
    for k0 in range(0, k, block):
        terms = [(Fraction(x) * Fraction(y), _exp_field(x, emins[0]) + _exp_field(y, emins[1]))
                 for x, y in zip(avals[k0:k0 + block], bvals[k0:k0 + block]) if x != 0 and y != 0]
        exps = [e for _, e in terms] + ([_log2_floor(acc)] if acc else [])
        if exps:
            g = max(exps) - frac
            s = sum((_trunc_to(p, g, floor) for p, _ in terms), Fraction(0)) + _trunc_to(acc, g, floor)
            acc = _trunc_to(s, _log2_floor(s) - frac, floor) if s else Fraction(0)
        end = min(k0 + block, k)
        if promote and (end % promote == 0 or end == k):
            out = np.float32(out + np.float32(float(acc)))
            acc = Fraction(0)
    return out if promote else np.float32(float(acc))


@pytest.mark.parametrize("promote", [None, 128])
def test_random_and_dominant_against_fraction_reference(promote):
    rng = np.random.default_rng(5)
    k = 300
    a = rng.normal(0, 2, (3, k)).astype(np.float32)
    a[1, 40] = 448.0                                             # one dominant term mid-K
    a[2] = rng.choice([-1, 1], k) * 2.0 ** rng.integers(-9, 8, k)  # wide exponents, subnormals
    b = rng.normal(0, 1, (k, 2)).astype(np.float32)
    a8, b8 = a.astype(E4M3), b.astype(E4M3)
    unit = FpNarrowAccUnit("t", promote_every=promote)
    y = dp.matmul(a8, b8, unit=unit)
    af, bf = a8.astype(np.float64), b8.astype(np.float64)
    for m in range(3):
        for n in range(2):
            r = ref_dot(af[m].tolist(), bf[:, n].tolist(), promote=promote)
            assert y[m, n].view(np.uint32) == r.view(np.uint32), (m, n)


@pytest.mark.parametrize("fmts,frac,block,promote,floor", [
    (("e4m3", "e5m2"), 13, 32, None, True), (("e5m2", "e4m3"), 1, 1, None, True),
    (("e5m2", "e5m2"), 5, 8, 16, False), (("e4m3", "e4m3"), 20, 64, 128, True),
    (("e4m3", "e5m2"), 23, 4, None, False)])
def test_formats_floor_and_widths_against_fraction_reference(fmts, frac, block, promote, floor):
    """Wide e5m2 exponents (2^-16 .. 57344 in one dot product), both truncations, narrow and
    wide accumulators, short and long blocks."""
    rng = np.random.default_rng(100 * frac + block)
    dt = {"e4m3": E4M3, "e5m2": ml_dtypes.float8_e5m2}
    k = 200
    raw = [rng.integers(0, 256, shape).astype(np.uint8) for shape in ((3, k), (k, 3))]
    ops = []
    for x, fmt in zip(raw, fmts):
        v = x.view(dt[fmt]).astype(np.float32)
        x[~np.isfinite(v)] = 0                                  # drop NaN / Inf codes
        x[rng.random(x.shape) < 0.15] = 0
        ops.append(x)
    unit = FpNarrowAccUnit("t", fmts[0], fmts[1], frac, block,
                           Truncation.FLOOR if floor else Truncation.TOWARD_ZERO, promote)
    y = dp.matmul(ops[0], ops[1], unit=unit)
    av, bv = (x.view(dt[f]).astype(np.float64) for x, f in zip(ops, fmts))
    emins = tuple(-6 if f == "e4m3" else -14 for f in fmts)
    for m in range(3):
        for n in range(3):
            r = ref_dot(av[m].tolist(), bv[:, n].tolist(), frac, block, promote, floor, emins)
            assert y[m, n].view(np.uint32) == r.view(np.uint32), (m, n)


def test_row_chunks_do_not_change_bits():
    rng = np.random.default_rng(23)
    a = rng.integers(0, 0x7F, (300, 64), dtype=np.uint8)
    b = rng.integers(0, 0x7F, (64, 450), dtype=np.uint8) | 0x80
    y = dp.matmul(a, b, unit="h100-fp8", fast_accum=False)       # 300*32*450 > one chunk
    parts = [dp.matmul(a[r:r + 150], b, unit="h100-fp8", fast_accum=False) for r in (0, 150)]
    assert np.array_equal(y.view(np.uint32), np.concatenate(parts).view(np.uint32))


@pytest.mark.parametrize("v,expected", [(4, 0), (7, 0), (-1, 0), (-7, 0), (-8, -8), (-9, -8), (8, 8)])
def test_small_addend_truncated_toward_zero(v, expected):
    """Notes 6.2: beside 2^16, an addend |v| < 8 vanishes and -9 becomes -8."""
    a = np.array([[256.0, v]], dtype=np.float32).astype(E4M3)
    b = np.array([[256.0], [1.0]], dtype=np.float32).astype(E4M3)
    assert dp.matmul(a, b, unit="h100-fp8", fast_accum=True)[0, 0] == 65536 + expected


@pytest.mark.parametrize("k,kept_fast,kept_slow", [(128, 0, 0), (256, 0, 128), (4096, 0, 3968)])
def test_promotion_every_128(k, kept_fast, kept_slow):
    a = np.ones((1, k), dtype=np.float32)
    a[0, 0] = 256.0
    b = np.ones((k, 1), dtype=np.float32)
    b[0, 0] = 256.0
    a8, b8 = a.astype(E4M3), b.astype(E4M3)
    assert dp.matmul(a8, b8, unit="h100-fp8", fast_accum=True)[0, 0] == 65536 + kept_fast
    assert dp.matmul(a8, b8, unit="h100-fp8", fast_accum=False)[0, 0] == 65536 + kept_slow


@pytest.mark.parametrize("fmt,dtype", [("e4m3", E4M3), ("e5m2", ml_dtypes.float8_e5m2)])
def test_every_single_product_is_exact(fmt, dtype):
    """K=1: one product of at most 8 significant bits passes through unchanged."""
    codes = np.arange(256, dtype=np.uint8)
    vals = codes.view(dtype).astype(np.float64)
    ok = np.isfinite(vals)                     # e5m2: the whole range, 2^-16 to 57344
    c = codes[ok]
    unit = FpNarrowAccUnit("t", a_fmt=fmt, b_fmt=fmt)
    y = dp.matmul(c[:, None], c[None, :], unit=unit)
    exact = (vals[ok][:, None] * vals[ok][None, :]).astype(np.float32)
    assert np.array_equal(y, exact)


def test_counts_and_errors():
    rng = np.random.default_rng(6)
    a = rng.integers(0, 0x70, (4, 320), dtype=np.uint8)
    b = rng.integers(0, 0x70, (320, 5), dtype=np.uint8)
    _, fast = dp.run("h100-fp8-fast", a, b)
    _, slow = dp.run("h100-fp8-slow", a, b)
    assert fast[Event(Op.FP_MUL, fmt="e4m3")] == 4 * 5 * 320
    assert Event(Op.FP_ADD, fmt="fp32") not in fast
    assert slow[Event(Op.FP_ADD, fmt="fp32")] == 4 * 5 * 3        # at 128, 256 and the end (320)
    assert fast[Event(Op.REG_WRITE, 22)] == 4 * 5 * 10
    with pytest.raises(SimlowError, match="NaN"):
        dp.matmul(np.full((1, 1), 0x7F, np.uint8), np.ones((1, 1), np.uint8))
    with pytest.raises(SimlowError, match="bit patterns"):
        dp.matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.uint8))
    with pytest.raises(SimlowError, match="promote_every"):
        FpNarrowAccUnit("bad", promote_every=100)


@pytest.mark.parametrize("block", [1, 3, 32, 64])
def test_block_max_exponents_equal_brute_force(block):
    """The batched power-of-two matmul gives each block's largest e(a) + e(b) of a nonzero
    product exactly, including blocks full of equal exponents and all-zero blocks."""
    from simlow.datapath.fp8acc import _NONE, _block_exponents
    rng = np.random.default_rng(block)
    k = 5 * block + 1
    ea = rng.integers(-14, 16, (4, k))
    eb = rng.integers(-14, 16, (k, 3))
    ea[0] = 7                                                  # equal exponents everywhere
    eb[:, 0] = 8
    ea[1, :block] = _NONE                                      # zero operands
    eb[rng.random((k, 3)) < 0.2] = _NONE
    got = list(_block_exponents(ea, eb, block))
    assert len(got) == -(-k // block)
    for j, g in enumerate(got):
        s = (ea[:, j * block:(j + 1) * block, None] + eb[None, j * block:(j + 1) * block, :])
        s = np.where((ea[:, j * block:(j + 1) * block, None] == _NONE)
                     | (eb[None, j * block:(j + 1) * block, :] == _NONE), _NONE, s)
        assert np.array_equal(g, s.max(axis=1)), j


@pytest.mark.parametrize("promote", [None, 128])
def test_long_k_full_range_bit_patterns(promote):
    """K = 4096 of random e4m3 bit patterns (every exponent, both signs), as the benchmark
    uses: two outputs against the Fraction reference."""
    rng = np.random.default_rng(24)
    a, b = (rng.integers(0, 0x7F, shape, dtype=np.uint8) | (rng.integers(0, 2, shape, dtype=np.uint8) << 7)
            for shape in ((2, 4096), (4096, 1)))
    y = dp.matmul(a, b, unit=FpNarrowAccUnit("t", promote_every=promote))
    av, bv = a.view(E4M3).astype(np.float64), b.view(E4M3).astype(np.float64)
    for m in range(2):
        r = ref_dot(av[m].tolist(), bv[:, 0].tolist(), promote=promote)
        assert y[m, 0].view(np.uint32) == r.view(np.uint32)
