"""BF16/FP16 MAC with FP32 accumulation: against an exact-rational RNE reference."""

from __future__ import annotations

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from simlow import datapath as dp
from simlow.errors import SimlowError
from simlow.events import Event, Op


def rne_f32(x: Fraction) -> np.float32:
    """Round an exact rational to fp32, nearest-even (normal range only; asserted)."""
    if x == 0:
        return np.float32(0)
    mag = abs(x)
    e = mag.numerator.bit_length() - mag.denominator.bit_length()
    if Fraction(2) ** e > mag:
        e -= 1
    assert -126 <= e < 128
    scaled = mag / Fraction(2) ** (e - 23)                  # in [2^23, 2^24)
    q, r = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * r
    if twice > scaled.denominator or (twice == scaled.denominator and q % 2):
        q += 1
    v = np.float32(q * 2.0 ** (e - 23))
    return v if x > 0 else -v


def ref_mac(a, b):
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.float32)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            acc = np.float32(0)
            for k in range(a.shape[1]):
                acc = rne_f32(Fraction(float(acc)) + Fraction(float(a[i, k])) * Fraction(float(b[k, j])))
            out[i, j] = acc
    return out


@pytest.mark.parametrize("name,dtype", [("bf16_mac_fp32", ml_dtypes.bfloat16), ("fp16_mac_fp32", np.float16)])
def test_random_and_cancelling(name, dtype):
    rng = np.random.default_rng(14)
    a = (rng.normal(0, 1, (3, 70)) * 2.0 ** rng.integers(-6, 7, (3, 70))).astype(np.float32).astype(dtype)
    b = rng.normal(0, 1, (70, 4)).astype(np.float32).astype(dtype)
    a[0, 0], b[0, 0] = 256, 256                             # a big term that later ones round against
    y, counts = dp.run(name, a, b)
    ref = ref_mac(a.astype(np.float64), b.astype(np.float64))
    assert np.array_equal(y.view(np.uint32), ref.view(np.uint32))
    y2, _ = dp.run(name, a.view(np.uint16), b.view(np.uint16))
    assert np.array_equal(y2.view(np.uint32), y.view(np.uint32))
    assert counts[Event(Op.FP_ADD, fmt="fp32")] == 3 * 4 * 70


def test_k_order_is_sequential():
    """2^24 then 1 then 1 in K order: each 1 is lost (tie to even); reordered they would count."""
    a = np.array([[2.0 ** 12, 1, 1]], dtype=np.float32).astype(ml_dtypes.bfloat16)
    b = np.array([[2.0 ** 12], [1], [1]], dtype=np.float32).astype(ml_dtypes.bfloat16)
    assert dp.run("bf16_mac_fp32", a, b)[0][0, 0] == 2.0 ** 24
    assert dp.run("bf16_mac_fp32", a[:, ::-1].copy(), b[::-1].copy())[0][0, 0] == 2.0 ** 24 + 2


def test_refuses_inexact_bf16_products_and_nan():
    tiny = np.array([[1e-30]], dtype=np.float32).astype(ml_dtypes.bfloat16)
    with pytest.raises(SimlowError, match="not exact in fp32"):
        dp.run("bf16_mac_fp32", tiny, tiny)
    with pytest.raises(SimlowError, match="NaN"):
        dp.run("fp16_mac_fp32", np.array([[np.nan]], np.float16), np.ones((1, 1), np.float16))


@pytest.mark.parametrize("name,dtype", [("bf16_mac_fp32", ml_dtypes.bfloat16), ("fp16_mac_fp32", np.float16)])
def test_long_k_alternating_signs(name, dtype):
    """K = 3000: a large running sum with alternating-sign small terms that each round."""
    rng = np.random.default_rng(15)
    k = 3000
    a = (rng.normal(0, 1, (2, k)) * np.where(np.arange(k) % 2, -1, 1)).astype(np.float32).astype(dtype)
    b = rng.normal(0, 1, (k, 2)).astype(np.float32).astype(dtype)
    a[:, 0], b[0] = 200, 200
    y, _ = dp.run(name, a, b)
    ref = ref_mac(a.astype(np.float64), b.astype(np.float64))
    assert np.array_equal(y.view(np.uint32), ref.view(np.uint32))
