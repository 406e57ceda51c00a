"""Agreement of the minifloat and E8M0 casts with ml_dtypes (every code, millions of float32).

The definition is ``simlow/numerics.py``, tested against the exact oracle in
``test_minifloat_oracle.py``; this file is the second test: which ml_dtypes versions agree.
Measured bit for bit (4M random float32, every float32 subnormal of both signs, every
1.5 * 2**k tie and its neighbours) on ml_dtypes 0.5.0, 0.5.1, 0.5.3, 0.5.4, 0.6.0 and 0.7.0:

=====================================  =========================================
cast                                   versions that agree on every input
=====================================  =========================================
e4m3fn, e5m2, e3m2fn, e2m3fn, e2m1fn   all (encode and decode)
E8M0 decode                            all
E8M0 encode                            >= 0.7.0; older ones differ as listed in
                                       ``E8M0_KNOWN_DIFFERENCES`` (and the test
                                       checks that nothing else differs)
=====================================  =========================================
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from simlow.quant import minifloat, quantize
from simlow.numerics import FP_FORMATS

from .conftest import same_floats

FMTS = list(FP_FORMATS.values())


def _dtype(fmt):
    return getattr(ml_dtypes, fmt.ml_dtype)


def _probe_values(fmt, rng, n=1 << 20) -> np.ndarray:
    """Random bit patterns (NaN, inf, subnormals) + values around the format's range + ties."""
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    mags = rng.standard_normal(n).astype(np.float32) * np.float32(fmt.max_value)
    mags *= rng.choice(np.array([2.0 ** -12, 2.0 ** -6, 2.0 ** -3, 0.5, 1.0, 1.1], np.float32), n)
    grid = np.arange(2 ** fmt.bits, dtype=np.uint8).view(_dtype(fmt)).astype(np.float32)
    grid = grid[np.isfinite(grid)]
    mids = np.concatenate([(grid[:-1] + grid[1:]) / 2, grid * np.float32(1.0000001), grid])
    edges = np.array([fmt.max_value * 1.0625, fmt.max_value * 1.125, fmt.max_value * 2, 1e-45,
                      -1e-45, 0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan], np.float32)
    return np.concatenate([bits, mags, mids, -mids, edges])


@pytest.mark.parametrize("fmt", FMTS, ids=lambda f: f.name)
def test_encode_equals_ml_dtypes(fmt):
    x = _probe_values(fmt, np.random.default_rng(5))
    with np.errstate(invalid="ignore", over="ignore"):
        ref = x.astype(_dtype(fmt)).view(np.uint8)
    assert np.array_equal(np.asarray(minifloat.encode(x, fmt)), ref)


@pytest.mark.parametrize("fmt", FMTS, ids=lambda f: f.name)
def test_every_code_decodes_like_ml_dtypes_and_round_trips(fmt):
    codes = np.arange(2 ** fmt.bits, dtype=np.uint8)
    ref = codes.view(_dtype(fmt)).astype(np.float32)
    got = np.asarray(minifloat.decode(codes, fmt))
    assert same_floats(got, ref)
    back = np.asarray(minifloat.encode(got, fmt))
    finite = np.isfinite(ref) | np.isinf(ref)
    assert np.array_equal(back[finite], codes[finite])          # decode -> encode is identity
    pos = got[: 2 ** (fmt.bits - 1)]
    pos = pos[np.isfinite(pos)]
    assert np.all(np.diff(pos) > 0)                              # monotone in the code
    neg = got[2 ** (fmt.bits - 1):][: pos.size]
    assert same_floats(neg, -pos)                                # sign-magnitude


def _version(text: str) -> tuple[int, ...]:
    return tuple(int("".join(c for c in p if c.isdigit()) or 0) for p in text.split(".")[:3])


def _sub_between(u):
    """Positive float32 subnormals strictly between 2**-127 and 1.5 * 2**-127."""
    return (u > 0x400000) & (u < 0x600000)


def _even_ties(u):
    """x = 1.5 * 2**k with an even biased exponent field (k + 127 in 2, 4, ..., 254)."""
    ef = (u >> 23) & 0xFF
    return ((u & 0x7FFFFF) == 0x400000) & (ef >= 1) & (ef <= 254) & (ef % 2 == 0)


# ml_dtypes versions whose float32 -> float8_e8m0fnu cast differs from numerics' definition:
# (first version, first version past it, what differs, the float32 bits that differ).
E8M0_KNOWN_DIFFERENCES = (
    ((0, 5, 0), (0, 5, 1),
     "ties 1.5*2**k with an even exponent field go down to the even code (0x01400000 -> 0x02, "
     "simlow 0x03; 0x7f400000 -> 0xfe, simlow NaN 0xff), and subnormals in (2**-127, "
     "1.5*2**-127) round up to 0x01 (0x005008cc ~ 1.25*2**-127 -> 0x01, simlow 0x00)",
     lambda u: _even_ties(u) | _sub_between(u)),
    ((0, 5, 1), (0, 7, 0),
     "float32 subnormals in (2**-127, 1.5*2**-127) round up to 0x01 = 2**-126, not to the "
     "nearer 0x00 = 2**-127 (0x005008cc ~ 1.25*2**-127 -> 0x01, simlow 0x00)",
     _sub_between),
)


def test_e8m0_equals_ml_dtypes():
    rng = np.random.default_rng(6)
    bits = rng.integers(0, 2**32, 1 << 21, dtype=np.uint64).astype(np.uint32)
    sub = np.arange(0, 1 << 23, 97, dtype=np.uint32)                    # subnormal float32
    ties = (np.arange(1, 255, dtype=np.uint32) << 23) | np.uint32(0x400000)  # 1.5 * 2**k
    x = np.concatenate([bits, sub, ties, ties - 1, ties + 1]).view(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = x.astype(ml_dtypes.float8_e8m0fnu).view(np.uint8)
    codes = np.arange(256, dtype=np.uint8)
    dec = np.asarray(minifloat.decode_e8m0(codes))
    assert same_floats(dec, codes.view(ml_dtypes.float8_e8m0fnu).astype(np.float32))
    got = np.asarray(minifloat.encode_e8m0(x))
    v = _version(ml_dtypes.__version__)
    known = [k for k in E8M0_KNOWN_DIFFERENCES if k[0] <= v < k[1]]
    if not known:
        assert np.array_equal(got, ref)
        return
    _, _, why, differs = known[0]
    expected = differs(x.view(np.uint32))
    assert np.array_equal(got != ref, expected), "differences beyond the documented ones"
    pytest.skip(f"ml_dtypes {ml_dtypes.__version__} is known to differ from simlow's E8M0 "
                f"definition (numerics) on {int(expected.sum())} of {x.size} inputs: {why}; "
                "all other inputs are equal")


def test_e8m0_decode_round_trips():
    codes = np.arange(256, dtype=np.uint8)
    dec = np.asarray(minifloat.decode_e8m0(codes))
    assert np.array_equal(np.asarray(minifloat.encode_e8m0(dec[:255])), codes[:255])
    assert np.all(np.diff(dec[:255]) > 0)


def test_exp_offset_scales_exactly():
    fmt = FP_FORMATS["e2m1fn"]
    x = np.array([0.75, 1.25, 3.5, 5.0, 100.0, -0.25], np.float32) * np.float32(2.0 ** -130)
    ref = (x.astype(np.float64) * 2.0 ** 130).astype(np.float32).astype(ml_dtypes.float4_e2m1fn)
    got = np.asarray(minifloat.encode(x, fmt, exp_offset=-130))
    assert np.array_equal(got, ref.view(np.uint8))
    assert same_floats(minifloat.decode(got, fmt, exp_offset=-130),
                       ref.astype(np.float32) * np.float32(2.0 ** -65) * np.float32(2.0 ** -65))


@pytest.mark.parametrize("name", ["fp8_e4m3", "fp8_e5m2", "fp6_e3m2", "fp6_e2m3", "fp4_e2m1"])
def test_cast_formats(name):
    x = np.random.default_rng(7).standard_normal((4, 64)).astype(np.float32) * 4
    q = quantize(x, name)
    fmt = q.format.fp
    ref = x.astype(_dtype(fmt))
    assert np.array_equal(np.asarray(q.codes), ref.view(np.uint8))
    assert same_floats(q.dequantize(), ref.astype(np.float32))
