"""FP8 scale epilogue (torch._scaled_mm tensorwise): scale 1 against the H100 bits, other
scales against a float64-then-round reference written apart from simlow."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from simlow import datapath as dp
from simlow.datapath import FpNarrowAccUnit, ScaleOrder
from simlow.errors import SimlowError
from simlow.events import Event, Op

_spec = importlib.util.spec_from_file_location("dp_refs", Path(__file__).with_name("refs.py"))
refs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refs)

E4M3 = ml_dtypes.float8_e4m3fn


def ref_scaled(acc: np.ndarray, sa: float, sb: float, order: ScaleOrder) -> np.ndarray:
    """Each fp32 product is exact in float64 (24 x 24 bits), so one float64 -> float32 cast
    is the single RNE rounding of IEEE fp32 multiplication."""
    with np.errstate(over="ignore"):
        if order is ScaleOrder.SEQUENTIAL:
            y = (acc.astype(np.float64) * sa).astype(np.float32)
            return (y.astype(np.float64) * sb).astype(np.float32)
        s = np.float32(np.float64(sa) * np.float64(sb))
        return (acc.astype(np.float64) * np.float64(s)).astype(np.float32)


def bf16_rne_bits(y: np.ndarray) -> np.ndarray:
    """fp32 -> bf16 round-to-nearest-even on the bit pattern (finite inputs)."""
    u = y.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


@pytest.mark.parametrize("order", list(ScaleOrder))
@pytest.mark.parametrize("fast", [True, False])
def test_scale_one_is_the_identity_on_the_h100_vectors(order, fast):
    z = refs.h100_vectors()
    name = "h100-fp8-fast" if fast else "h100-fp8-slow"
    unit = FpNarrowAccUnit(name, promote_every=dp.UNITS[name].promote_every, scale_order=order)
    one = np.float32(1.0)
    for i in range(int(z["fp8_n"])):
        y = dp.matmul(z[f"fp8_{i}_a"], z[f"fp8_{i}_b"], unit=unit, scale_a=one, scale_b=one)
        assert y.dtype == np.float32
        assert np.array_equal(y.view(np.uint32), z[f"fp8_{i}_out_{'fast' if fast else 'slow'}"]), i


def _acc_case(rng):
    a = (rng.normal(0, 3, (6, 96))).astype(np.float32).astype(E4M3)
    b = (rng.normal(0, 3, (96, 5))).astype(np.float32).astype(E4M3)
    return a, b


@pytest.mark.parametrize("order", list(ScaleOrder))
def test_scales_against_float64_reference(order):
    rng = np.random.default_rng(20)
    a, b = _acc_case(rng)
    unit = FpNarrowAccUnit("s", promote_every=128, scale_order=order)
    acc = dp.matmul(a, b, unit=unit)
    scales = [(np.float32(x), np.float32(y)) for x, y in rng.uniform(1e-3, 50, (40, 2))]
    scales += [(np.float32(2.0 ** -140), np.float32(3.0)),          # subnormal results
               (np.float32(3e38), np.float32(7.0)),                 # overflow to inf
               (np.float32(0.25), np.float32(-8.0))]                # powers of two
    for sa, sb in scales:
        y, counts = dp.run(unit, a, b, scale_a=sa, scale_b=sb)
        assert np.array_equal(y.view(np.uint32), ref_scaled(acc, sa, sb, order).view(np.uint32)), (sa, sb)
    muls = 2 * 6 * 5 if order is ScaleOrder.SEQUENTIAL else 6 * 5 + 1
    assert counts[Event(Op.FP_MUL, fmt="fp32")] == muls


def test_orders_differ_in_the_last_bits_and_agree_on_powers_of_two():
    rng = np.random.default_rng(21)
    a, b = _acc_case(rng)
    seq = FpNarrowAccUnit("q", scale_order=ScaleOrder.SEQUENTIAL)
    comb = FpNarrowAccUnit("c", scale_order=ScaleOrder.COMBINED)
    differ = 0
    for sa, sb in rng.uniform(0.1, 10, (20, 2)).astype(np.float32):
        y1 = dp.matmul(a, b, unit=seq, scale_a=sa, scale_b=sb)
        y2 = dp.matmul(a, b, unit=comb, scale_a=sa, scale_b=sb)
        differ += int(np.count_nonzero(y1 != y2))
        assert (np.abs(y1 - y2) <= 2 * np.spacing(np.abs(y1))).all()     # two roundings each
    assert differ > 0
    for sa, sb in [(0.5, 4.0), (2.0 ** -10, 1.5), (3.0, 0.125)]:
        y1 = dp.matmul(a, b, unit=seq, scale_a=np.float32(sa), scale_b=np.float32(sb))
        y2 = dp.matmul(a, b, unit=comb, scale_a=np.float32(sa), scale_b=np.float32(sb))
        assert np.array_equal(y1.view(np.uint32), y2.view(np.uint32))


@pytest.mark.parametrize("out_dtype", [ml_dtypes.bfloat16, np.float16])
def test_narrow_output_is_one_rounding_of_the_fp32_value(out_dtype):
    rng = np.random.default_rng(22)
    a, b = _acc_case(rng)
    sa, sb = np.float32(0.37), np.float32(1.9)
    y32 = ref_scaled(dp.matmul(a, b, unit="h100-fp8"), sa, sb, ScaleOrder.SEQUENTIAL)
    y = dp.matmul(a, b, unit="h100-fp8", scale_a=sa, scale_b=sb, out_dtype=out_dtype)
    assert y.dtype == np.dtype(out_dtype)
    if out_dtype is ml_dtypes.bfloat16:
        assert np.array_equal(y.view(np.uint16), bf16_rne_bits(y32))
    else:
        assert np.array_equal(y, y32.astype(np.float16))


def test_scale_errors():
    a = np.full((2, 3), 0x38, np.uint8)                      # e4m3 1.0
    b = np.full((3, 2), 0x38, np.uint8)
    with pytest.raises(SimlowError, match="both scale_a and scale_b"):
        dp.matmul(a, b, scale_a=np.float32(1))
    with pytest.raises(SimlowError, match="not exactly a float32"):
        dp.matmul(a, b, scale_a=0.1, scale_b=1.0)
    with pytest.raises(SimlowError, match="tensorwise"):
        dp.matmul(a, b, scale_a=np.ones((2, 1), np.float32), scale_b=np.float32(1))
    with pytest.raises(SimlowError, match="finite"):
        dp.matmul(a, b, scale_a=np.float32(np.inf), scale_b=np.float32(1))
    with pytest.raises(SimlowError, match="out_dtype applies only"):
        dp.matmul(a, b, out_dtype=np.float16)
    with pytest.raises(SimlowError, match="out_dtype must be"):
        dp.matmul(a, b, scale_a=1.0, scale_b=2.0, out_dtype=np.int32)
    assert dp.matmul(a, b, scale_a=0.5, scale_b=2.0)[0, 0] == 3.0   # exact Python floats accepted
