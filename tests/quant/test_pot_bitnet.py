"""PoT / APoT / OrpQuant level semantics, and BitNet b1.58 against a NumPy port."""

from __future__ import annotations

import numpy as np
import pytest

from simlow.quant import quantize
from simlow.quant.pot import APOT, POT, apot_levels, pot_levels

from .conftest import same_floats


@pytest.mark.parametrize("fmt", POT + APOT, ids=lambda f: f.name)
def test_levels_nearest_ties_low_and_round_trip(fmt):
    lv = np.array(fmt.levels, np.float64)
    rng = np.random.default_rng(16)
    x = rng.standard_normal((6, 64)).astype(np.float32)
    x[0, :lv.size] = lv.astype(np.float32)        # every level exactly (row amax = top level)
    mids = ((lv[1:] + lv[:-1]) / 2).astype(np.float32)
    x[1, : mids.size] = mids
    x[1, -1] = lv[-1]
    q = quantize(x, fmt)
    # independent reference in float64: nearest level, ties to the lower one
    alpha = (np.abs(x).max(-1, keepdims=True) / lv[-1]).astype(np.float16).astype(np.float32)
    v = (np.abs(x) / alpha).astype(np.float64)
    idx = (v[..., None] > (lv[1:] + lv[:-1]) / 2).sum(-1)
    ref = np.where(idx == 0, 0, np.where(np.signbit(x), -idx, idx))
    assert np.array_equal(np.asarray(q.codes), ref)
    vals = np.where(ref < 0, -1, 1) * lv[np.abs(ref)].astype(np.float32) * alpha
    assert same_floats(q.dequantize(), vals.astype(np.float32))
    # decode -> encode is the identity on every code; decoding is monotone
    back = quantize(np.asarray(q.dequantize()), fmt)
    assert np.array_equal(np.asarray(back.codes)[0], np.asarray(q.codes)[0])
    assert np.all(np.diff(lv) > 0)


def test_levels_are_shift_add():
    for b in (3, 4, 5):
        for lv in (pot_levels(b), apot_levels(b)):
            for v in lv[1:]:
                scaled = int(v * 2 ** 20)
                assert scaled == v * 2 ** 20 and bin(scaled).count("1") <= 2


@pytest.mark.parametrize("cols", [256, 384])   # 384 = 12 * 32 uses a (non-symmetric) Paley H_12
def test_orpquant_reduces_error_and_uses_pot_codes(cols):
    x = np.random.default_rng(17).standard_t(3, (16, cols)).astype(np.float32)
    e_pot = float(np.mean((np.asarray(quantize(x, "pot3").dequantize()) - x) ** 2))
    q = quantize(x, "orp3")
    e_orp = float(np.mean((np.asarray(q.dequantize()) - x) ** 2))
    assert e_orp < e_pot
    assert set(np.unique(np.asarray(q.aux["residual_codes"]))) <= set(range(-4, 5))
    assert q.bits_per_weight == 6.0


def test_bitnet_matches_reference_functions():
    rng = np.random.default_rng(18)
    w = rng.standard_normal((32, 64)).astype(np.float32)
    q = quantize(w, "bitnet_w158")
    s = np.float32(1) / np.maximum(np.float32(np.abs(w.astype(np.float64)).mean()), np.float32(1e-5))
    ref = np.clip(np.round(w * s), -1, 1)
    assert np.array_equal(np.asarray(q.codes), ref.astype(np.int8))
    # the float reference keeps -0.0 for rounded-to-zero negatives; integer codes give +0.0
    assert same_floats(q.dequantize(), ref.astype(np.float32) / s + np.float32(0))
    x = rng.standard_normal((8, 64)).astype(np.float32)
    qa = quantize(x, "bitnet_a8")
    sa = np.float32(127) / np.maximum(np.abs(x).max(-1, keepdims=True), np.float32(1e-5))
    refa = np.clip(np.round(x * sa), -128, 127)
    assert np.array_equal(np.asarray(qa.codes), refa.astype(np.int8))
    assert same_floats(qa.dequantize(), refa.astype(np.float32) / sa + np.float32(0))
    small = np.array([[0.5, -1.5, 0.05, 2.0], [0.0, 0.3, -0.2, 1.0]], np.float32)
    assert np.asarray(quantize(small, "bitnet_w158").codes).tolist() == [[1, -1, 0, 1], [0, 0, 0, 1]]
