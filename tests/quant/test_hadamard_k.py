"""Hadamard blocks H_K (Paley, Williamson) and the K * 2**m transform (QuaRot get_hadK sizes).

Independent checks: H H^T = K I in exact integers; the Williamson condition rebuilt here with
np.roll circulants; the transform against an explicit kron(H_K, Sylvester) matrix on small
sizes, and column by column (exactly) against the Kronecker entry formula on full-size
widths (11008, 13824, 14336) whose dense matrix is too big to build.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from simlow.errors import SimlowError
from simlow.quant import hadamard_k as hk
from simlow.quant import rotations as rot


def _sylvester(m: int) -> np.ndarray:
    """Natural-order Walsh-Hadamard entries (-1)**popcount(i & j), independent of the module."""
    i = np.arange(m)
    bits = np.bitwise_and(i[:, None], i[None, :])
    parity = np.zeros_like(bits)
    while bits.any():
        parity ^= bits & 1
        bits >>= 1
    return 1 - 2 * parity


def _circ(row: np.ndarray) -> np.ndarray:
    return np.stack([np.roll(row, i) for i in range(row.shape[0])])


@pytest.mark.parametrize("w", sorted(hk.WILLIAMSON_ROWS))
def test_williamson_rows_satisfy_williamson_condition(w):
    mats = [_circ(np.array([1 if c == "+" else -1 for c in r])) for r in hk.WILLIAMSON_ROWS[w]]
    for m in mats:
        assert m.shape == (w, w) and np.array_equal(m, m.T)               # symmetric circulant
    assert np.array_equal(sum(m @ m for m in mats), 4 * w * np.eye(w, dtype=np.int64))
    a, b, c, d = mats
    expect = np.block([[a, b, c, d], [-b, a, -d, c], [-c, d, a, -b], [-d, -c, b, a]])
    assert np.array_equal(hk.base_hadamard(4 * w), expect)


_BUILT = [k for k in range(4, 204, 4) if hk.base_hadamard(k) is not None]


def test_built_orders_cover_quarot():
    assert set(hk.QUAROT_ORDERS) - set(_BUILT) == {40}                   # 40 = 20 * 2, see below
    assert [k for k in range(4, 204, 4) if k not in _BUILT and (k // 4) % 2] == [92, 100, 116, 188]   # 4 * odd gaps below 200


@pytest.mark.parametrize("k", _BUILT)
def test_every_supported_block_is_hadamard(k):
    h = hk.base_hadamard(k)
    assert h.dtype == np.int64 and set(np.unique(h)) == {-1, 1}
    assert np.array_equal(h @ h.T, k * np.eye(k, dtype=np.int64))
    assert not h.flags.writeable


def test_unbuildable_orders():
    assert hk.base_hadamard(40) is None            # 40 goes through kron(H_20, H_2), see below
    assert hk.base_hadamard(188) is None           # 4 * 47: no Paley prime, no Williamson table
    with pytest.raises(SimlowError, match="no tabulated Williamson"):
        hk.williamson(47)
    with pytest.raises(SimlowError, match="prime = 3"):
        hk.paley_i(13)


@pytest.mark.parametrize("k", hk.QUAROT_ORDERS)
def test_quarot_orders_through_the_transform(k):
    # Every order QuaRot ships, alone and times 2**2, against an explicit dense kron matrix.
    kk, mm = rot.hadamard_factors(k * 4)
    assert kk * mm == 4 * k and (kk == k or (k, kk) == (40, 20))
    rng = np.random.default_rng(k)
    for n in (k, 4 * k):
        kk, mm = rot.hadamard_factors(n)
        h = rot.hadamard_matrix(n)
        assert np.array_equal(h, np.kron(hk.base_hadamard(kk), _sylvester(mm)))
        assert np.array_equal(h @ h.T, n * np.eye(n, dtype=np.int64))
        x = rng.standard_normal((3, n)).astype(np.float32)
        got = np.asarray(rot.hadamard_transform(x))
        np.testing.assert_allclose(got, x.astype(np.float64) @ h.T / np.sqrt(n), atol=3e-6, rtol=1e-5)
        np.testing.assert_allclose(np.asarray(rot.hadamard_transform(got, inverse=True)), x, atol=4e-6)


@pytest.mark.parametrize("n, k", [(11008, 172), (13824, 108), (14336, 28)])
def test_llm_widths_are_orthogonal_kronecker_transforms(n, k):
    assert rot.hadamard_factors(n) == (k, n // k)
    m = n // k
    rng = np.random.default_rng(n)
    # Columns of the applied matrix, exactly: T(e_j)[i] = H_K[i // M, j // M] * S_M[i % M, j % M] / sqrt(n).
    cols = np.array([0, 1, m - 1, m, n // 2 + 3, n - 1] + list(rng.integers(0, n, 4)))
    basis = np.zeros((cols.size, n), np.float32)
    basis[np.arange(cols.size), cols] = 1
    got = np.asarray(rot.hadamard_transform(basis))
    i = np.arange(n)
    h_k, s_m = hk.base_hadamard(k), _sylvester(m)
    expect = np.stack([h_k[i // m, j // m] * s_m[i % m, j % m] for j in cols]).astype(np.float32)
    assert np.array_equal(got, expect * np.float32(1 / np.sqrt(n)))
    # Orthogonality to float tolerance on random probes: Gram matrix and norms kept, inverse undoes it.
    x = rng.standard_normal((6, n)).astype(np.float32)
    y = np.asarray(rot.hadamard_transform(x), np.float64)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y @ y.T, x64 @ x64.T, atol=1e-4 * np.sqrt(n), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(rot.hadamard_transform(y.astype(np.float32), inverse=True)), x,
                               atol=5e-6)


def test_randomized_rotation_of_11008_preserves_norm_and_is_not_dense():
    n = 11008
    x = np.random.default_rng(3).standard_normal((2, n)).astype(np.float32)
    y = np.asarray(rot.randomized_hadamard(x, rot.random_signs(jax.random.PRNGKey(7), n)))
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1), rtol=2e-6)
    hlo = jax.jit(rot.hadamard_transform).lower(x).as_text()
    dots = [ln for ln in hlo.splitlines() if "dot_general" in ln]
    assert "11008x11008" not in hlo and len(dots) == 1      # only the K x K block is dense:
    assert "(tensor<2x172x64xf32>, tensor<172x172xf32>)" in dots[0]   # 64 columns of 172-vectors
