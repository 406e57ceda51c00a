"""Rotations applied before quantization: Walsh-Hadamard (QuaRot), randomized Hadamard,
random orthogonal (explicit PRNG key), and a user-supplied orthogonal matrix (SpinQuant).

Layering: uses JAX and ``hadamard_k`` (the K x K blocks); used by ``pot`` (OrpQuant),
``offq``, ``kv`` and the CLI.

``hadamard_transform(x)`` = ``x @ H_n.T / sqrt(n)`` along the last axis, with
``H_n = kron(H_K, H_M)``, ``M = 2**m`` the Sylvester (natural order) matrix applied as an
O(n log n) butterfly (log2 M rounds of (a+b, a-b)), and ``H_K`` a known Hadamard matrix
applied densely to the ``K`` axis (QuaRot ``matmul_hadU`` structure): cost n log2 M adds plus
n K multiply-adds, never an n x n matrix. ``K`` is the smallest factor ``odd * 2**j`` (j >= 2)
of ``n`` that ``hadamard_k.base_hadamard`` builds: Paley I / II orders (12, 20, 28, 36, 44,
60, 108, 140, ...) and the Williamson orders 52, 156, 172. Examples: 11008 = 172 * 64
(Llama-2-7B FFN), 13824 = 108 * 128, 14336 = 28 * 512, 40 * 2**m = 20 * 2**(m+1). Sizes with
no such factor raise ``SimlowError``. ``H_K`` is not QuaRot's stored matrix (see
``hadamard_k``), so outputs differ from QuaRot's while structure and cost are the same.
In float32 the butterfly's rounding differs from a dense matmul's; it equals the explicit
matrix to float tolerance and exactly on small-integer inputs.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from simlow.errors import SimlowError
from simlow.quant.hadamard_k import WILLIAMSON_ROWS, base_hadamard


@lru_cache(maxsize=None)
def hadamard_factors(n: int) -> tuple[int, int]:
    """(K, M) with n = K * M, M a power of two and K = 1 or the smallest ``odd * 2**j`` (j >= 2)
    that ``hadamard_k.base_hadamard`` can build; SimlowError if there is none."""
    if n < 1:
        raise SimlowError(f"hadamard: size must be positive, got {n}")
    odd, p = n, 0
    while odd % 2 == 0:
        odd, p = odd // 2, p + 1
    if odd == 1:
        return 1, n
    for j in range(2, p + 1):
        if base_hadamard(odd * 2 ** j) is not None:
            return odd * 2 ** j, n // (odd * 2 ** j)
    raise SimlowError(f"hadamard: no known Hadamard matrix for size {n} (= {odd} * 2**{p}); supported: 2**m, "
                      "or K * 2**m with K a Paley order (12, 20, 28, 36, 44, 60, 108, 140, ...) "
                      f"or a tabulated Williamson order {tuple(4 * w for w in sorted(WILLIAMSON_ROWS))}")


@lru_cache(maxsize=None)
def _h_k_f32(k: int, transpose: bool) -> np.ndarray:
    h = base_hadamard(k)
    out = np.ascontiguousarray(h.T if transpose else h, np.float32)
    out.flags.writeable = False
    return out


def hadamard_matrix(n: int) -> np.ndarray:
    """The explicit +-1 matrix ``kron(H_K, H_M)`` that ``hadamard_transform`` applies (int64,
    dense n x n: a reference for tests and small sizes; the transform never builds it)."""
    k, m = hadamard_factors(n)
    h_m = np.array([[1]], np.int64)
    while h_m.shape[0] < m:
        h_m = np.block([[h_m, h_m], [h_m, -h_m]])
    h_k = np.array([[1]], np.int64) if k == 1 else base_hadamard(k)
    return np.kron(h_k, h_m)


def _butterfly(x):
    n = x.shape[-1]
    h = 1
    while h < n:
        y = x.reshape(x.shape[:-1] + (n // (2 * h), 2, h))
        a, b = y[..., 0, :], y[..., 1, :]
        x = jnp.stack([a + b, a - b], axis=-2).reshape(x.shape)
        h *= 2
    return x


@jax.jit
def _fwht(x):
    return _butterfly(x) * jnp.float32(1.0 / np.sqrt(x.shape[-1]))


@jax.jit
def _fwht_k(x, h_k):
    k = h_k.shape[0]
    y = _butterfly(x.reshape(x.shape[:-1] + (k, x.shape[-1] // k)))
    y = jnp.einsum("kl,...lj->...kj", h_k, y, precision=jax.lax.Precision.HIGHEST)
    return y.reshape(x.shape) * jnp.float32(1.0 / np.sqrt(x.shape[-1]))


def hadamard_transform(x, inverse: bool = False) -> jax.Array:
    """Orthonormal Walsh-Hadamard transform along the last axis (see the module docstring).

    ``inverse=True`` applies the transpose ``x @ H_n / sqrt(n)``; it differs from the forward
    transform only when ``K > 1`` (Paley matrices are not symmetric; Sylvester ones are)."""
    x = jnp.asarray(x, jnp.float32)
    k, _ = hadamard_factors(x.shape[-1])
    if k == 1:
        return _fwht(x)
    return _fwht_k(x, jnp.asarray(_h_k_f32(k, inverse)))


def random_signs(key: jax.Array, n: int) -> jax.Array:
    """A +-1 float32 vector from an explicit PRNG key (the diagonal of a randomized Hadamard)."""
    return jax.random.rademacher(key, (n,), dtype=jnp.float32)


def randomized_hadamard(x, signs: jax.Array) -> jax.Array:
    """``x @ (H D / sqrt(n)).T`` with ``D = diag(signs)``: QuaRot's random Hadamard rotation."""
    return hadamard_transform(jnp.asarray(x, jnp.float32) * signs)


def random_orthogonal(key: jax.Array, n: int) -> jax.Array:
    """A Haar-random n x n orthogonal matrix (QR of a Gaussian, columns sign-fixed)."""
    g = jax.random.normal(key, (n, n), dtype=jnp.float32)
    q, r = jnp.linalg.qr(g)
    return q * jnp.sign(jnp.diag(r))[None, :]


def check_orthogonal(r, tol: float = 1e-4) -> jax.Array:
    """``r`` as float32 if it is square and orthogonal to ``tol``; SimlowError otherwise."""
    r = jnp.asarray(r, jnp.float32)
    if r.ndim != 2 or r.shape[0] != r.shape[1]:
        raise SimlowError(f"rotation must be a square matrix, got shape {tuple(r.shape)}")
    err = float(jnp.abs(r @ r.T - jnp.eye(r.shape[0])).max())
    if err > tol:
        raise SimlowError(f"rotation is not orthogonal: max |R R^T - I| = {err:.3g} > {tol}")
    return r


def rotate(x, r) -> jax.Array:
    """``x @ r.T`` for a user-supplied orthogonal ``r`` (SpinQuant-style R1/R2)."""
    r = check_orthogonal(r)
    return jnp.einsum("...j,kj->...k", jnp.asarray(x, jnp.float32), r, precision=jax.lax.Precision.HIGHEST)
