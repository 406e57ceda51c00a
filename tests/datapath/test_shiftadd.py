"""Shift-add PoT / APoT / residual MAC: bit-exact against a Python-int reference; counts."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from simlow import datapath as dp
from simlow.datapath import Overflow, ShiftAddUnit, Truncation
from simlow.errors import SimlowError
from simlow.events import Event, Op


def _term(x: int, e: int, frac: int, trunc: Truncation) -> int:
    v = Fraction(x) * Fraction(2) ** (e + frac)
    return math.floor(v) if trunc is Truncation.FLOOR else int(v)   # int() truncates toward 0


def ref(a, sign, exp, unit: ShiftAddUnit):
    """Python-int reference: one accumulator step per term, k order, term 0 then 1."""
    lo, hi = -(1 << (unit.acc_bits - 1)), (1 << (unit.acc_bits - 1)) - 1
    m, k = a.shape
    out = np.zeros((m, sign.shape[2]), dtype=np.int64)
    for i in range(m):
        for j in range(sign.shape[2]):
            acc = 0
            for kk in range(k):
                for t in range(sign.shape[0]):
                    s = int(sign[t, kk, j])
                    if s == 0:
                        continue
                    acc += s * _term(int(a[i, kk]), int(exp[t, kk, j]), unit.frac_bits, unit.truncation)
                    if unit.overflow is Overflow.WRAP:
                        acc = (acc - lo) % (1 << unit.acc_bits) + lo
                    elif unit.overflow is Overflow.SATURATE_EACH_STEP:
                        acc = min(max(acc, lo), hi)
            out[i, j] = min(max(acc, lo), hi) if unit.overflow is Overflow.SATURATE_AT_END else acc
    return out


@pytest.mark.parametrize("trunc", list(Truncation))
@pytest.mark.parametrize("frac,emin,emax", [(0, -7, 0), (2, -7, 3), (0, 0, 7), (1, -3, -1)])
def test_every_pot_code_times_every_int8(trunc, frac, emin, emax):
    unit = ShiftAddUnit("t", 8, 1, emin, emax, frac, trunc, acc_bits=32)
    exps = np.arange(emin, emax + 1)
    sign = np.concatenate([np.ones_like(exps), -np.ones_like(exps), [0]])[None, None, :]
    exp = np.concatenate([exps, exps, [emin]])[None, None, :]
    a = np.arange(-128, 128)[:, None]
    y, counts = dp.run(unit, a, (sign, exp))
    assert np.array_equal(y, ref(a, sign, exp, unit))
    assert counts[Event(Op.SKIP, 8)] == 256 and counts[Event(Op.NEGATE, 32)] == 256 * exps.size


def _weights(rng, terms, k, n, emin, emax, p_zero, shared):
    sign = rng.choice([-1, 1], (terms, k, n))
    sign[rng.random(sign.shape) < p_zero] = 0
    if shared and terms == 2:
        sign[1] = np.where(rng.random((k, n)) < 0.5, 0, sign[0])
        sign[1][sign[0] == 0] = 0
    return sign, rng.integers(emin, emax + 1, (terms, k, n))


@pytest.mark.parametrize("name", ["pot_shift_add", "pot_shift_add_left", "apot_shift_add",
                                  "residual_pot_shift_add"])
def test_presets_random(name):
    unit = dp.UNITS[name]
    rng = np.random.default_rng(7)
    a = rng.integers(-128, 128, (3, 150))
    sign, exp = _weights(rng, unit.terms, 150, 4, unit.exp_min, unit.exp_max, 0.3, unit.shared_sign)
    w = (sign[0], exp[0]) if unit.terms == 1 else (sign, exp)
    assert np.array_equal(dp.run(name, a, w)[0], ref(a, sign, exp, unit))


@pytest.mark.parametrize("policy", list(Overflow))
@pytest.mark.parametrize("trunc", list(Truncation))
def test_narrow_accumulator_overflow(policy, trunc):
    rng = np.random.default_rng(8)
    unit = ShiftAddUnit("n", 8, 2, -4, 2, 1, trunc, acc_bits=14, overflow=policy)
    a = rng.integers(-128, 128, (3, 120))
    a[0] = 127                                              # all-max operands
    a[1, ::2], a[1, 1::2] = 127, -128                       # alternating signs
    sign, exp = _weights(rng, 2, 120, 3, -4, 2, 0.2, False)
    sign[:, :, 0], exp[:, :, 0] = 1, 2
    y, counts = dp.run(unit, a, (sign, exp))
    assert np.array_equal(y, ref(a, sign, exp, unit))
    assert counts.get(Event(Op.OVERFLOW, 14), 0) + counts.get(Event(Op.SATURATE, 14), 0) > 0


def test_zero_weights_cut_adds_and_counts_conserve():
    rng = np.random.default_rng(9)
    a = rng.integers(-128, 128, (4, 500))
    sign = rng.choice([-1, 1], (500, 6))
    exp = rng.integers(-7, 1, (500, 6))
    dense = dp.run("pot_shift_add", a, (sign, exp))[1]
    sign[:200] = 0                                          # 40% zeros
    sparse = dp.run("pot_shift_add", a, (sign, exp))[1]
    presented = 4 * 500 * 6
    assert dense[Event(Op.INT_ADD, 32)] == presented
    assert sparse[Event(Op.INT_ADD, 32)] == presented * 6 // 10
    assert sparse[Event(Op.INT_ADD, 32)] + sparse[Event(Op.SKIP, 8)] == presented
    assert sparse[Event(Op.SHIFT, 8, 7)] == sparse[Event(Op.INT_ADD, 32)]
    assert sparse[Event(Op.NEGATE, 32)] == 4 * int((sign < 0).sum())


def test_bad_codes_raise():
    a = np.zeros((2, 3), np.int8)
    with pytest.raises(SimlowError, match=r"\[-7, 0\]"):
        dp.run("pot_shift_add", a, (np.ones((3, 2), int), np.ones((3, 2), int)))
    with pytest.raises(SimlowError, match="APoT"):
        dp.run("apot_shift_add", a, (np.stack([np.ones((3, 2), int), -np.ones((3, 2), int)]),
                                     np.zeros((2, 3, 2), int)))
    with pytest.raises(SimlowError, match="term"):
        dp.run("apot_shift_add", a, (np.ones((3, 2), int), np.zeros((3, 2), int)))
    with pytest.raises(SimlowError, match="signs"):
        dp.run("pot_shift_add", a, (np.full((3, 2), 2), np.zeros((3, 2), int)))


@pytest.mark.parametrize("name", ["pot_shift_add", "pot_shift_add_left", "apot_shift_add",
                                  "residual_pot_shift_add"])
def test_prepared_weights_give_the_same_bits_and_counts(name):
    unit = dp.UNITS[name]
    rng = np.random.default_rng(15)
    sign, exp = _weights(rng, unit.terms, 130, 5, unit.exp_min, unit.exp_max, 0.3, unit.shared_sign)
    w = (sign[0], exp[0]) if unit.terms == 1 else (sign, exp)
    prep = dp.prepare(name, w)
    for a in (rng.integers(-128, 128, (4, 130)), np.full((2, 130), -128)):
        y, counts = dp.run(name, a, prep)
        y_raw, counts_raw = dp.run(name, a, w)
        assert np.array_equal(y, ref(a, sign, exp, unit)) and np.array_equal(y, y_raw)
        assert counts == counts_raw


def test_empty_groups_are_skipped():
    unit = ShiftAddUnit("g", 8, 1, -7, 3, 0)
    rng = np.random.default_rng(16)
    sign = rng.choice([-1, 1], (1, 64, 3))
    exp = np.where(rng.random((1, 64, 3)) < 0.5, -3, 2)
    exp[0, :, 2] = -6
    sign[0, :, 2] = 0                                        # exponent -6 only under zero signs
    prep = dp.prepare(unit, (sign, exp))
    assert prep.shifts == (0, -3)
    a = rng.integers(-128, 128, (3, 64))
    assert np.array_equal(dp.run(unit, a, prep)[0], ref(a, sign, exp, unit))
    zero = dp.prepare(unit, (np.zeros((64, 3), int), np.zeros((64, 3), int)))
    assert np.array_equal(dp.run(unit, a, zero)[0], np.zeros((3, 3)))


@pytest.mark.parametrize("k", [1 << 17, (1 << 17) + 9])
def test_float32_limit_of_the_grouped_matmul(k):
    """Sums of |terms| at 2^24 stay in float32; above it they must not lose a bit."""
    unit = ShiftAddUnit("big", 8, 1, -1, 0, 0, acc_bits=40)
    a = np.full((2, k), -128)
    a[1, ::3] = 127
    a[1, 1] = 1                                              # odd sums near and above 2^24
    sign = np.ones((k, 2), dtype=int)
    sign[::5, 1] = -1
    exp = np.zeros((k, 2), dtype=int)
    exp[::7, 1] = -1
    y = dp.run(unit, a, (sign, exp))[0]
    terms = np.where(exp[None] < 0, a[:, :, None] >> 1, a[:, :, None]) * sign[None]
    assert np.array_equal(y, terms.sum(axis=1))
    assert abs(int(terms.sum(axis=1)[0, 0])) >= 1 << 24


@pytest.mark.parametrize("policy", list(Overflow))
def test_cancelling_residual_terms_still_overflow_mid_weight(policy):
    """A residual weight +8 -8 cancels in the merged left matrix, but the accumulator sees
    +8a first: with 1778 already summed, 1778 + 1016 leaves 12 bits mid-weight."""
    unit = ShiftAddUnit("r", 8, 2, 0, 3, 0, acc_bits=12, overflow=policy)
    sign = np.array([[1, 1, 1], [-1, -1, -1]])[:, :, None]     # (+8, -1), (+8, -1), (+8, -8)
    exp = np.array([[3, 3, 3], [0, 0, 3]])[:, :, None]
    a = np.full((1, 3), 127)
    y, counts = dp.run(unit, a, (sign, exp))
    assert np.array_equal(y, ref(a, sign, exp, unit))
    if policy is Overflow.SATURATE_EACH_STEP:
        assert y[0, 0] == 2047 - 1016 and counts[Event(Op.SATURATE, 12)] == 1
    elif policy is Overflow.WRAP:
        assert y[0, 0] == 1778 and counts[Event(Op.OVERFLOW, 12)] == 2
    else:
        assert y[0, 0] == 1778 and Event(Op.SATURATE, 12) not in counts


def test_prepare_errors():
    w = (np.ones((3, 2), int), np.zeros((3, 2), int))
    prep = dp.prepare("pot_shift_add", w)
    with pytest.raises(SimlowError, match="prepared for unit 'pot_shift_add'"):
        dp.run("pot_shift_add_left", np.zeros((2, 3), np.int8), prep)
    with pytest.raises(SimlowError, match="no prepare step"):
        dp.prepare("int8_tensor_core", np.zeros((3, 2), np.int8))
    with pytest.raises(SimlowError, match="inner dimensions"):
        dp.run("pot_shift_add", np.zeros((2, 4), np.int8), prep)


@pytest.mark.parametrize("policy", list(Overflow))
def test_long_k_overflow_part_way(policy):
    """K = 3000 with a 16-bit accumulator: the running sum leaves the range after a few
    hundred all-max terms, then subtracted terms bring it back."""
    unit = ShiftAddUnit("l", 8, 1, -3, 2, 0, Truncation.TOWARD_ZERO, acc_bits=16, overflow=policy)
    k = 3000
    a = np.full((2, k), 127)
    a[1, ::2] = -128                                            # alternating signs
    sign = np.ones((1, k, 2), dtype=int)
    sign[0, 1500:, 0] = -1
    exp = np.tile(np.array([2, -3, 0, -1])[:, None], (k // 4, 2))[None]
    y, counts = dp.run(unit, a, (sign, exp))
    assert np.array_equal(y, ref(a, sign, exp, unit))
    events = counts.get(Event(Op.OVERFLOW, 16), 0) + counts.get(Event(Op.SATURATE, 16), 0)
    assert events > 0


@pytest.mark.parametrize("name", ["apot_shift_add", "residual_pot_shift_add"])
def test_every_two_term_code_times_every_int8(name):
    """K = 1: each (sign0, exp0, sign1, exp1) weight code the unit allows, times -128..127."""
    unit = dp.UNITS[name]
    exps = range(unit.exp_min, unit.exp_max + 1)
    codes = [(0, unit.exp_min, 0, unit.exp_min)]
    for s0 in (-1, 1):
        for e0 in exps:
            seconds = (0, s0) if unit.shared_sign else (-1, 0, 1)
            codes += [(s0, e0, s1, e1) for s1 in seconds for e1 in exps if s1 or e1 == unit.exp_min]
    c = np.array(codes).T                                       # (4, codes)
    sign = np.stack([c[0], c[2]])[:, None, :]
    exp = np.stack([c[1], c[3]])[:, None, :]
    a = np.arange(-128, 128)[:, None]
    y, counts = dp.run(name, a, (sign, exp))
    assert np.array_equal(y, ref(a, sign, exp, unit))
    assert counts[Event(Op.INT_ADD, 32)] == 256 * int(np.count_nonzero(sign))
