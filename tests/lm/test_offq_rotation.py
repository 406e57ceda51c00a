"""Rotation offq: OffQ fitted from calibration statistics, and a matmul under it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simlow.errors import SimlowError
from simlow.lm.calibrate import InputStats, offq_from_stats
from simlow.lm.design import Datapath, Rotation, load_design
from simlow.lm.linear import apply, prepare, prepare_offq
from simlow.quant import get_format, quantize
from simlow.quant.offq import fit


def _calib(rng, rows=200, k=64):
    x = rng.standard_normal((rows, k)).astype(np.float32)
    x[:, 5] += 6.0                                  # a massive-activation channel
    return x


def _stats(x):
    x64 = x.astype(np.float64)
    return InputStats(x64.T @ x64, np.abs(x64).mean(0), x.shape[0], x64.mean(0))


def test_offq_from_stats_is_offq_fit_on_the_rows():
    x = _calib(np.random.default_rng(0))
    inner = get_format("int4_sym_channel")
    got, want = offq_from_stats(_stats(x), inner), fit(x, inner)
    np.testing.assert_allclose(got.direction, want.direction, atol=1e-9)   # eigh(X^T X) vs svd(X)
    assert abs(got.offset - want.offset) <= 1e-5 * abs(want.offset)


@pytest.mark.parametrize("datapath", ["int4_tensor_core", "float"])
def test_offq_matmul_is_the_reflected_quantized_product_plus_the_offset_bias(datapath):
    rng = np.random.default_rng(1)
    d = load_design("w4a4-offq")
    assert d.rotation is Rotation.OFFQ and d.calibration.start >= 512
    if datapath == "float":
        d = dataclasses.replace(d, datapath=Datapath.FLOAT)
    x, w = _calib(rng, 8), rng.standard_normal((16, 64)).astype(np.float32)
    offq = offq_from_stats(_stats(_calib(rng)), get_format(d.activations))
    got = np.asarray(apply(d, x, prepare_offq(d, w, offq)), np.float64)
    qw = np.asarray(quantize(offq.rotate(w), d.weights).dequantize(), np.float64)
    z = np.asarray(offq.rotate(x))
    za = np.asarray(quantize(z[:, 1:], d.activations).dequantize(), np.float64)
    want = za @ qw[:, 1:].T + np.float64(np.float32(offq.offset)) * qw[:, 0]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
    exact = x.astype(np.float64) @ w.T.astype(np.float64)
    assert np.abs(got - exact).max() < 0.5 * np.abs(exact).max()          # still the same product


def test_offq_weights_need_their_fitted_rotation():
    with pytest.raises(SimlowError, match="OffQ fitted"):
        prepare(load_design("w4a4-offq"), np.zeros((4, 64), np.float32))
