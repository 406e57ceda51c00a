"""Rotations: explicit Hadamard matrices, orthogonality, keys, user rotations."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from simlow.errors import SimlowError
from simlow.quant import rotations as rot


@pytest.mark.parametrize("n", [2, 16, 12, 20, 28, 36, 24, 96, 112])
def test_hadamard_against_explicit_matrix(n):
    h = rot.hadamard_matrix(n)
    assert np.array_equal(h @ h.T, n * np.eye(n, dtype=np.int64))
    x = np.random.default_rng(19).standard_normal((5, n)).astype(np.float32)
    got = np.asarray(rot.hadamard_transform(x))
    np.testing.assert_allclose(got, x.astype(np.float64) @ h.T / np.sqrt(n), atol=2e-6, rtol=1e-5)
    back = np.asarray(rot.hadamard_transform(got, inverse=True))
    np.testing.assert_allclose(back, x, atol=3e-6, rtol=1e-5)


def test_power_of_four_is_exact_on_integers():
    x = np.random.default_rng(20).integers(-8, 8, (4, 256)).astype(np.float32)
    got = np.asarray(rot.hadamard_transform(x))
    assert np.array_equal(got * 16, (x.astype(np.int64) @ rot.hadamard_matrix(256).T).astype(np.float32))


def test_fwht_is_butterfly_not_dense():
    # The 4096-point transform must not build a 4096 x 4096 matrix: check the compiled HLO.
    x = np.zeros((1, 4096), np.float32)
    hlo = jax.jit(rot.hadamard_transform).lower(x).as_text()
    assert "dot" not in hlo and "4096x4096" not in hlo


def test_random_rotations_are_orthogonal_and_keyed():
    k = jax.random.PRNGKey(0)
    q = np.asarray(rot.random_orthogonal(k, 64), np.float64)
    np.testing.assert_allclose(q @ q.T, np.eye(64), atol=1e-5)
    assert np.array_equal(q, np.asarray(rot.random_orthogonal(k, 64)))
    s = rot.random_signs(k, 64)
    x = np.random.default_rng(21).standard_normal((3, 64)).astype(np.float32)
    y = np.asarray(rot.randomized_hadamard(x, s))
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(rot.rotate(x, q)), x @ q.T, atol=1e-5)


def test_errors():
    with pytest.raises(SimlowError, match="no known Hadamard"):
        rot.hadamard_transform(np.zeros((1, 188), np.float32))      # 4 * 47: no Paley, no Williamson table
    with pytest.raises(SimlowError, match="not orthogonal"):
        rot.rotate(np.zeros((1, 2), np.float32), np.array([[1.0, 1.0], [0.0, 1.0]]))
