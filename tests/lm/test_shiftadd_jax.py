"""The JAX shift-add MAC equals the NumPy unit (the oracle) bit for bit, with the same counts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simlow.datapath import UNITS, shiftadd
from simlow.datapath.configs import Overflow, Truncation
from simlow.lm.shiftadd_jax import pot_matmul


def _weights(unit, rng, k, n):
    sign = rng.integers(-1, 2, size=(unit.terms, k, n))
    if unit.shared_sign and unit.terms == 2:
        sign[1] = np.where(rng.random((k, n)) < 0.5, 0, sign[0])
    exp = rng.integers(unit.exp_min, unit.exp_max + 1, size=(unit.terms, k, n))
    return sign, exp


VARIANTS = [
    UNITS["pot_shift_add"], UNITS["pot_shift_add_left"], UNITS["apot_shift_add"], UNITS["residual_pot_shift_add"],
    dataclasses.replace(UNITS["residual_pot_shift_add"], truncation=Truncation.TOWARD_ZERO, frac_bits=3,
                        acc_bits=24),
    dataclasses.replace(UNITS["pot_shift_add_left"], acc_bits=16, overflow=Overflow.SATURATE_EACH_STEP),  # may clamp: NumPy
]


@pytest.mark.parametrize("unit", VARIANTS, ids=lambda u: f"{u.name}-{u.truncation.value}-{u.acc_bits}")
@pytest.mark.parametrize("seed", [0, 1])
def test_jax_shift_add_equals_numpy_unit(unit, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-(1 << (unit.a_bits - 1)), 1 << (unit.a_bits - 1), size=(7, 96))
    prep = shiftadd.prepare(unit, _weights(unit, rng, 96, 13))
    want, want_counts = shiftadd.run(unit, a, prep)
    got, counts, used_numpy = pot_matmul(unit, a, prep)
    np.testing.assert_array_equal(np.asarray(got), want)
    assert np.asarray(got).dtype == want.dtype and counts == want_counts
    assert used_numpy == (unit.acc_bits == 16)


@pytest.mark.parametrize("name", ["pot3", "pot4"])
def test_pot_designs_run_every_matmul_on_the_shift_add_unit_bit_for_bit(name):
    from simlow.lm.design import load_design
    from simlow.lm.linear import apply, prepare
    from simlow.quant import quantize

    d = load_design(name)
    assert d.unit.name == "pot_shift_add" and d.unit.frac_bits == {"pot3": 2, "pot4": 6}[name]
    rng = np.random.default_rng(5)
    w, x = rng.standard_normal((24, 64)).astype(np.float32), rng.standard_normal((6, 64)).astype(np.float32)
    got = np.asarray(apply(d, x, prepare(d, w)))
    qw, qa = quantize(w, name), quantize(x, d.activations)
    c = np.asarray(qw.codes, np.int64).T
    top = 2 ** (int(name[3:]) - 1) - 1
    acc, _ = shiftadd.run(d.unit, np.asarray(qa.codes), (np.sign(c), np.where(c != 0, np.abs(c) - top, 0)))
    want = (acc.astype(np.float32) * np.float32(2.0 ** -d.unit.frac_bits)) * np.asarray(qa.scales, np.float32)
    want = want * np.asarray(qw.scales, np.float32).reshape(1, -1)
    np.testing.assert_array_equal(got.view(np.uint32), want.astype(np.float32).view(np.uint32))
    fake = np.asarray(qa.dequantize(), np.float64) @ np.asarray(qw.dequantize(), np.float64).T
    assert np.abs(got - fake).max() <= 1e-6 * np.abs(fake).max()      # the datapath computes the format's values


def test_pot3_residual_runs_both_passes_on_the_shift_add_unit_bit_for_bit():
    from simlow.lm.design import load_design
    from simlow.lm.linear import apply, prepare
    from simlow.quant import quantize
    from simlow.quant.rotations import hadamard_transform

    d = load_design("pot3-residual")
    assert d.weights == "orp3" and d.unit.name == "pot_shift_add"
    rng = np.random.default_rng(6)
    w, x = rng.standard_normal((24, 64)).astype(np.float32), rng.standard_normal((6, 64)).astype(np.float32)
    got = np.asarray(apply(d, x, prepare(d, w)))
    qw = quantize(w, "orp3")
    want = np.zeros_like(got)
    for codes, scales, xi in ((qw.codes, qw.scales, x),
                              (qw.aux["residual_codes"], qw.aux["residual_scales"], hadamard_transform(x))):
        qa = quantize(xi, d.activations)
        c = np.asarray(codes, np.int64).T
        acc, _ = shiftadd.run(d.unit, np.asarray(qa.codes), (np.sign(c), np.where(c != 0, np.abs(c) - 3, 0)))
        part = (acc.astype(np.float32) * np.float32(0.25)) * np.asarray(qa.scales, np.float32)
        want = want + part * np.asarray(scales, np.float32).reshape(1, -1)    # epilogue: pass 1 + pass 2
    np.testing.assert_array_equal(got.view(np.uint32), want.astype(np.float32).view(np.uint32))
    fake = x.astype(np.float64) @ np.asarray(qw.dequantize(), np.float64).T
    exact = x.astype(np.float64) @ w.T.astype(np.float64)
    one_pass = x.astype(np.float64) @ np.asarray(quantize(w, "pot3").dequantize(), np.float64).T
    assert np.abs(got - fake).max() < np.abs(one_pass - exact).max()     # the residual pass helps
    assert np.abs(got - exact).std() < 0.5 * np.abs(one_pass - exact).std()
