"""OffQ: the reflection is orthogonal and maps the top direction to channel 0; on an
outlier-heavy tensor it removes the outliers (kurtosis) and lowers 4-bit error."""

from __future__ import annotations

import numpy as np
import pytest

from simlow.errors import SimlowError
from simlow.quant import metrics, offq, quantize


def _outlier_tensor(seed=50, n=1024, d=256):
    """Gaussian rows plus a near-constant massive activation on 4 channels (LLM-like)."""
    rng = np.random.default_rng(seed)
    u = np.zeros(d)
    u[rng.choice(d, 4, replace=False)] = [60.0, -45.0, 30.0, 50.0]
    a = 1 + 0.05 * rng.standard_normal((n, 1))
    return (rng.standard_normal((n, d)) + a * u).astype(np.float32)


def test_reflection_is_orthogonal_and_puts_outliers_on_channel0():
    x = _outlier_tensor()
    f = offq.fit(x)
    d = f.dim
    h = np.asarray(f.rotate(np.eye(d, dtype=np.float32)), np.float64)     # rows: H e_i
    np.testing.assert_allclose(h @ h.T, np.eye(d), atol=2e-6)
    np.testing.assert_allclose(h, h.T, atol=1e-7)                          # symmetric: H = H^-1
    e0 = np.asarray(f.rotate(np.array(f.direction, np.float32)))
    np.testing.assert_allclose(e0, np.eye(d)[0], atol=2e-6)
    z = np.asarray(f.rotate(x), np.float64)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), np.linalg.norm(x, axis=1), rtol=1e-5)
    assert f.offset == pytest.approx(z[:, 0].mean(), rel=1e-6)


def test_offq_reduces_kurtosis_and_error():
    x = _outlier_tensor()
    calib, test = x[:512], x[512:]
    f = offq.fit(calib)
    rest = np.asarray(f.rotate(test))[:, 1:]
    k_before, k_after = metrics.kurtosis(test), metrics.kurtosis(rest)
    assert k_before > 20 and k_after < 3.3                         # Gaussian remainder: about 3
    assert rest.std() < 0.2 * test.std()
    plain = metrics.mse(test, quantize(test, "int4_sym_tensor").dequantize())
    shared = metrics.mse(test, f.quantize(test).dequantize())
    kept = metrics.mse(test, offq.fit(calib, keep_channel=True).quantize(test).dequantize())
    assert kept < shared < plain / 5        # the shared offset loses only z_0's per-row spread
    assert f.bits_per_weight == pytest.approx(4 * 255 / 256)


def test_offq_errors():
    f = offq.fit(_outlier_tensor(n=64, d=32))
    with pytest.raises(SimlowError, match="fitted for 32 channels"):
        f.quantize(np.zeros((2, 16), np.float32))
    with pytest.raises(SimlowError, match="at least 2 channels"):
        offq.fit(np.zeros((4, 1), np.float32))
