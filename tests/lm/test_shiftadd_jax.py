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
