"""The JAX ternary adder tree equals the NumPy unit (the oracle) bit for bit, with the same
counts, on both its paths (one int32 matmul; the stepwise tree with wrapping or clamping
levels and accumulator), and the ``ternary`` design runs every matmul on it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simlow.datapath import UNITS, ternary_tree
from simlow.datapath.configs import Overflow
from simlow.lm.ternary_jax import path, tree_matmul

BASE = UNITS["ternary_tree"]
W, S, E = Overflow.WRAP, Overflow.SATURATE_EACH_STEP, Overflow.SATURATE_AT_END
VARIANTS = [
    (BASE, "wide"),
    (dataclasses.replace(BASE, tile=8, level_bits=(9, 10, 10), level_overflow=W), "stepwise"),
    (dataclasses.replace(BASE, tile=8, level_bits=(9, 10, 10), level_overflow=S, acc_bits=12, overflow=S), "stepwise"),
    (dataclasses.replace(BASE, tile=16, acc_bits=12, overflow=W), "stepwise"),
    (dataclasses.replace(BASE, tile=16, level_bits=(9, 10, 11, 11), level_overflow=S, acc_bits=12, overflow=E),
     "stepwise"),
    (dataclasses.replace(BASE, a_bits=24, tile=64, acc_bits=32, overflow=W), "stepwise"),   # int32 wraps
    (dataclasses.replace(BASE, a_bits=24, tile=64, acc_bits=32, overflow=S), "stepwise"),
    (dataclasses.replace(BASE, a_bits=24, tile=64, acc_bits=40, overflow=W), "numpy"),
]


def _codes(unit, rng, k, n, extreme: bool):
    top = 1 << (unit.a_bits - 1)
    if extreme:   # sums that leave the narrow widths: large same-signed activations and weights
        return rng.integers(top // 2, top, size=(5, k)), rng.choice([0, 1, 1, 1], size=(k, n))
    return rng.integers(-top, top, size=(5, k)), rng.integers(-1, 2, size=(k, n))


@pytest.mark.parametrize("unit,how", VARIANTS, ids=[f"v{i}-{how}" for i, (_, how) in enumerate(VARIANTS)])
@pytest.mark.parametrize("k,extreme", [(100, False), (640, True)])
def test_jax_ternary_tree_equals_numpy_unit(unit, how, k, extreme):
    rng = np.random.default_rng(k)
    a, w = _codes(unit, rng, k, 11, extreme)
    want, want_counts = ternary_tree.run_tree(unit, a, w)
    got, counts, used_numpy = tree_matmul(unit, a, w)
    np.testing.assert_array_equal(np.asarray(got), want)
    assert counts == want_counts
    assert used_numpy == (path(unit, k) == "numpy")
    if extreme:       # K = 640 overflows the narrow widths: the path the variant is there for
        assert path(unit, k) == how


def test_the_narrow_variants_do_wrap_or_clamp():
    """The stepwise cases above exercise events, not only the exact sum."""
    for unit, how in VARIANTS:
        if how != "stepwise":
            continue
        a, w = _codes(unit, np.random.default_rng(640), 640, 11, True)
        _, counts, _ = tree_matmul(unit, a, w)
        assert sum(v for e, v in counts.items() if e.op.name in ("OVERFLOW", "SATURATE")) > 0, unit


def test_ternary_design_runs_on_the_tree_bit_for_bit():
    from simlow.lm.design import load_design
    from simlow.lm.linear import apply, prepare
    from simlow.quant import quantize

    d = load_design("ternary")
    assert d.unit.name == "ternary_tree"
    rng = np.random.default_rng(9)
    w, x = rng.standard_normal((24, 192)).astype(np.float32), rng.standard_normal((6, 192)).astype(np.float32)
    got = np.asarray(apply(d, x, prepare(d, w)))
    qw, qa = quantize(w, d.weights), quantize(x, d.activations)
    acc, _ = ternary_tree.run_tree(d.unit, np.asarray(qa.codes), np.asarray(qw.codes).T)
    want = (acc.astype(np.float32) / np.asarray(qa.scales, np.float32).reshape(-1, 1)) / np.float32(qw.scales[0])
    np.testing.assert_array_equal(got.view(np.uint32), want.astype(np.float32).view(np.uint32))
    fake = np.asarray(qa.dequantize(), np.float64) @ np.asarray(qw.dequantize(), np.float64).T
    assert np.abs(got - fake).max() <= 1e-5 * np.abs(fake).max()      # the datapath computes the format's values
