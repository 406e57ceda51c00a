"""Minifloat and E8M0 casts against the exact oracle (``oracle.py``): every code decoded,
every rounding boundary and its float32 neighbours encoded, plus ~100k seeded float32."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from simlow.quant import minifloat
from simlow.numerics import FP_FORMATS

from . import oracle

FMTS = list(FP_FORMATS.values())


def _mismatches(bits, got, ref, k=5) -> str:
    bad = np.nonzero(np.asarray(got) != np.asarray(ref))[0]
    rows = [f"x=0x{int(bits[i]):08x} ({oracle.f32_value(int(bits[i]))}): simlow 0x{int(got[i]):02x}, "
            f"oracle 0x{int(ref[i]):02x}" for i in bad[:k]]
    return f"{bad.size} of {len(bits)} differ: " + "; ".join(rows)


def _float_inputs(t: oracle.Table, seed: int, n: int = 50_000) -> np.ndarray:
    """Boundaries, strided float32 subnormals, n random bit patterns (every exponent, NaN,
    inf) and n random float32 whose exponent lies in or just around the format's range."""
    rng = np.random.default_rng(seed)
    spec = t.spec
    sub = np.arange(1, 1 << 23, 997, dtype=np.uint32)
    anywhere = rng.integers(0, 2 ** 32, n, dtype=np.uint64).astype(np.uint32)
    lo = max(1 - spec.bias - spec.mbits - 3 + 127, 0)
    hi = min((t.mags[-1] >> spec.mbits) - spec.bias + 3 + 127, 254)
    e = rng.integers(lo, hi + 1, n, dtype=np.uint32)
    near = (rng.integers(0, 2, n, dtype=np.uint32) << 31) | (e << 23) | rng.integers(0, 1 << 23, n, dtype=np.uint32)
    parts = [np.array(oracle.boundary_inputs(t), np.uint32), sub, sub | np.uint32(1 << 31), anywhere, near]
    return np.concatenate(parts)


def _exact(bits: int):
    """(sign, exact value) of simlow's float32 output bits."""
    v = oracle.f32_value(bits)
    return bits >> 31, ("inf" if v in ("inf", "-inf") else v if v == oracle.NAN else abs(v))


def _decode_mismatches(spec, codes, out_bits) -> list:
    bad = []
    for c, b in zip(codes, out_bits):
        want = oracle.decode(spec, c)
        got = _exact(b)
        if want[1] == oracle.NAN:
            ok = got[1] == oracle.NAN
        else:
            ok = got == want
        if not ok:
            bad.append((hex(c), want, got))
    return bad


@pytest.mark.parametrize("fmt", FMTS, ids=lambda f: f.name)
def test_every_code_decodes_exactly(fmt):
    spec = oracle.SPECS[fmt.name]
    codes = list(range(2 ** fmt.bits))
    out = np.asarray(minifloat.decode(np.array(codes, np.uint8), fmt)).view(np.uint32).tolist()
    assert _decode_mismatches(spec, codes, out) == []


def test_every_e8m0_code_decodes_exactly():
    codes = list(range(256))
    out = np.asarray(minifloat.decode_e8m0(np.array(codes, np.uint8))).view(np.uint32).tolist()
    assert _decode_mismatches(oracle.E8M0, codes, out) == []


@pytest.mark.parametrize("fmt", FMTS, ids=lambda f: f.name)
def test_encode_equals_oracle(fmt):
    t = oracle.table(oracle.SPECS[fmt.name])
    bits = _float_inputs(t, seed=fmt.bits * 31 + fmt.mbits)
    got = np.asarray(minifloat.encode(bits.view(np.float32), fmt))
    ref = np.array(oracle.encode_all(t, bits.tolist()), np.uint8)
    assert np.array_equal(got, ref), _mismatches(bits, got, ref)


def test_e8m0_encode_equals_oracle():
    t = oracle.table(oracle.E8M0)
    bits = _float_inputs(t, seed=80)
    got = np.asarray(minifloat.encode_e8m0(bits.view(np.float32)))
    ref = np.array(oracle.encode_all(t, bits.tolist()), np.uint8)
    assert np.array_equal(got, ref), _mismatches(bits, got, ref)


def _f32(v) -> int:
    return oracle.f32_bits_of(Fraction(v))


@pytest.mark.parametrize("name, x, code", [
    ("e4m3fn", 17, 0x58), ("e4m3fn", 19, 0x5A), ("e4m3fn", 464, 0x7E), ("e4m3fn", -464, 0xFE),
    ("e4m3fn", Fraction(465), 0x7F), ("e4m3fn", Fraction(2) ** -10, 0x00),      # tie to 0
    ("e4m3fn", -Fraction(2) ** -10, 0x80), ("e4m3fn", Fraction(3, 2 ** 11), 0x01),
    ("e5m2", 61439, 0x7B), ("e5m2", 61440, 0x7C), ("e5m2", -61440, 0xFC),
    ("e2m1fn", Fraction(1, 4), 0x00), ("e2m1fn", Fraction(3, 4), 0x02), ("e2m1fn", 2.5, 0x04),
    ("e2m1fn", 5, 0x06), ("e2m1fn", 1000, 0x07), ("e2m1fn", -1000, 0x0F),
    ("e3m2fn", 30, 0x1F), ("e2m3fn", -8, 0x3F),
])
def test_oracle_reproduces_the_documented_truth_table(name, x, code):
    """The oracle itself, pinned to the hand-checked values of the numerics docstring."""
    assert oracle.encode(oracle.table(oracle.SPECS[name]), _f32(x)) == code


@pytest.mark.parametrize("x, code", [
    (1, 127), (Fraction(3, 2), 128), (Fraction(3, 2) - Fraction(1, 2 ** 23), 127), (3, 129),
    (Fraction(2) ** -127, 0), (Fraction(5, 4) * Fraction(2) ** -127, 0),
    (Fraction(3, 2) * Fraction(2) ** -127, 1), (Fraction(2) ** -149, 0),
    (Fraction(2) ** 127, 254), (Fraction(3, 2) * Fraction(2) ** 127, 255), (0, 255), (-1, 255),
])
def test_e8m0_oracle_truth_table(x, code):
    t = oracle.table(oracle.E8M0)
    assert oracle.encode(t, _f32(x)) == code
    assert int(np.asarray(minifloat.encode_e8m0(np.uint32(_f32(x)).view(np.float32)))) == code


def test_e8m0_issue_input_is_the_nearer_code():
    """0x5008cc ~ 1.2505 * 2**-127 (subnormal float32): nearer to 2**-127 than to 2**-126."""
    x = np.array([0x5008CC], np.uint32).view(np.float32)
    assert int(np.asarray(minifloat.encode_e8m0(x))[0]) == 0
