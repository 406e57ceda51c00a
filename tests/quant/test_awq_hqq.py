"""AWQ's scale search picks the argmin of its grid (the loss recomputed here directly on the
activations, not through the Hessian); HQQ's solver lowers its error from the RTN start."""

from __future__ import annotations

import numpy as np

from simlow.quant import get_format, quantize
from simlow.quant.awq import awq_search, grid
from simlow.quant.gptq import hessian
from simlow.quant.hqq import HqqConfig, HqqInt, ZeroMode, hqq


def _activations(seed, t=256, k=128):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((t, k)) * np.exp(1.5 * rng.standard_normal(k))).astype(np.float32)


def test_awq_picks_the_argmin_of_its_grid_on_the_direct_output_loss():
    rng = np.random.default_rng(7)
    x = _activations(7)
    ws = [rng.standard_normal((16, 128)).astype(np.float32), rng.standard_normal((8, 128)).astype(np.float32)]
    fmt = get_format("int3_asym_g64")
    r = awq_search(ws, hessian(x), np.abs(x.astype(np.float64)).mean(0), fmt)
    direct = []
    for alpha in grid():
        s = np.abs(x.astype(np.float64)).mean(0) ** alpha
        s = np.maximum(s, 1e-4)
        s = (s / np.sqrt(s.max() * s.min())).astype(np.float32)
        loss = 0.0
        for w in ws:
            q = np.asarray(quantize(w * s[None, :], fmt).dequantize(), np.float64)
            loss += np.sum((x.astype(np.float64) @ w.T.astype(np.float64) - (x / s).astype(np.float64) @ q.T) ** 2)
        direct.append(loss)
    np.testing.assert_allclose(r.losses, direct, rtol=1e-6)
    assert r.alpha == grid()[int(np.argmin(direct))]
    assert r.alpha > 0 and min(direct) < direct[0]          # outlier channels: scaling beats RTN (alpha 0)
    np.testing.assert_array_equal(np.asarray(r.qtensors[1].codes),
                                  np.asarray(quantize(ws[1] * r.scales[None, :], fmt).codes))


def test_hqq_converges_from_the_rtn_start():
    rng = np.random.default_rng(11)
    w = rng.standard_normal((64, 256)).astype(np.float32)
    w[rng.random(w.shape) < 0.01] *= 8                       # a few outliers, as in LLM weights
    fmt = HqqInt(3, 64)
    q, history = hqq(w, fmt)
    lo, hi = w.reshape(-1, 64).min(1, keepdims=True), w.reshape(-1, 64).max(1, keepdims=True)
    s = (hi - lo) / np.float32(7)
    rtn = (np.clip(np.rint(w.reshape(-1, 64) / s + (-lo / s)), 0, 7) - (-lo / s)) * s
    assert abs(history[0] - float(np.abs(w.reshape(-1, 64) - rtn).mean())) < 1e-7
    assert len(history) >= 2 and all(b <= a for a, b in zip(history, history[1:]))
    assert history[-1] < history[0]
    deq = np.asarray(q.dequantize())
    assert np.abs(w - deq).mean() < history[0]               # still better after the float16 store
    assert q.codes.dtype == np.uint8 and int(np.asarray(q.codes).max()) <= 7
    _, more = hqq(w, fmt, HqqConfig(iters=1))
    assert more == history[:1]


def test_hqq_integer_zero_stays_on_the_grid():
    rng = np.random.default_rng(12)
    w = rng.standard_normal((32, 128)).astype(np.float32)
    w[rng.random(w.shape) < 0.01] *= 8
    q, history = hqq(w, HqqInt(3, 64, zero=ZeroMode.INTEGER))
    z = np.asarray(q.aux["zero"], np.float32)
    np.testing.assert_array_equal(z, np.rint(z))             # an integer zero: weight 0 is a level
    g = w.reshape(-1, 64)
    lo, hi = g.min(1, keepdims=True), g.max(1, keepdims=True)
    s = (hi - lo) / np.float32(7)
    z0 = np.rint(-lo / s)
    start = (np.clip(np.rint(g / s + z0), 0, 7) - z0) * s
    assert abs(history[0] - float(np.abs(g - start).mean())) < 1e-7   # RTN with its rounded zero
    assert all(b <= a for a, b in zip(history, history[1:]))
    assert HqqInt(3, 64, zero=ZeroMode.INTEGER).name == "hqq3_g64_intzero"
