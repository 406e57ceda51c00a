"""TurboQuant KV-cache quantizers (Zandieh, Daliri, Hadian, Mirrokni 2025, arXiv 2504.19874),
online per vector: the MSE quantizer and the inner-product (QJL residual) variant.

Layering: uses ``lloyd`` (codebooks), ``rotations`` (random orthogonal), ``base``;
registered in ``registry`` as ``turbo{b}`` (MSE) and ``turbo{b}_ip`` (inner product).

Each row (the last axis, length d: one head vector) is quantized on its own:

* **MSE, b bits** (``turbo{b}``; Algorithm 1): ``n = ||x||`` (float32, stored float16);
  ``u = x / n`` (a zero vector gives u = 0); ``y = Pi u`` with ``Pi`` a Haar-random d x d
  orthogonal matrix (``rotations.random_orthogonal``, key ``fold_in(PRNGKey(seed), 0)``);
  code ``idx_j = #{k : y_j > t_k}`` against the float32 boundaries of the Lloyd-Max codebook
  ``lloyd.lloyd_max(b, d)`` (exact finite-d density): the nearest centroid, and a value
  exactly on a boundary goes to the lower centroid (the first index of the argmin).
  Dequantize ``n16 * Pi^T c[idx]``.
* **Inner product, b bits** (``turbo{b}_ip``; Algorithm 2, b >= 2): the MSE quantizer with
  ``b - 1`` bits, then on the residual ``r = u - Pi^T c[idx]`` a 1-bit QJL sketch
  (Zandieh, Daliri, Han 2024, arXiv 2406.03482): ``s = sign(S r)`` with sign(0) = +1 and
  ``S`` a d x d matrix of i.i.d. N(0, 1) entries (key ``fold_in(PRNGKey(seed), 1)``), and
  ``gamma = ||r||`` (stored float16). Dequantize
  ``n16 * (Pi^T c[idx] + sqrt(pi/2) / d * gamma16 * S^T s)``.
  For a fixed query y, E_S <y, x~> = <y, x> (unbiased) because E[s_i sign(<s_i, r>)] =
  sqrt(2/pi) r / ||r|| for a Gaussian row s_i. The MSE variant is biased instead:
  E_Pi <y, x~> = (1 - D_b) <y, x>, with D_b the codebook's MSE (``Codebook.mse``).

Stored per coordinate: b bits (``bits_per_weight`` = b; ``turbo3`` is ``simlow.formats``'
``turbo3``: 3 bits per coordinate + one float16 norm per vector, counted per row).
The inner-product variant stores two float16 per vector (n and gamma); it has no storage
table entry. Float16 rounding of n and gamma scales an estimate by at most 2**-11 relative.

Codes: ``codes`` uint8 centroid indices (shape of x); ``scales`` float16 norms (..., 1);
``aux["qjl"]`` int8 +-1 and ``aux["gamma"]`` float16 (..., 1) for the ip variant. Not
bit-exact against an outside reference (no official code was found): deterministic for
a given seed, dimension and XLA build.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache, partial

import jax
import jax.numpy as jnp

from simlow.errors import SimlowError
from simlow.quant import _exact
from simlow.quant.base import as_input
from simlow.quant.lloyd import lloyd_max
from simlow.quant.qtensor import QTensor
from simlow.quant.rotations import random_orthogonal

_HI = jax.lax.Precision.HIGHEST


@partial(jax.jit, static_argnums=1)
def turbo_matrices(key: jax.Array, d: int) -> tuple[jax.Array, jax.Array]:
    """(Pi, S) for a PRNG key: Pi Haar-orthogonal d x d, S i.i.d. N(0, 1) d x d (float32)."""
    pi = random_orthogonal(jax.random.fold_in(key, 0), d)
    s = jax.random.normal(jax.random.fold_in(key, 1), (d, d), dtype=jnp.float32)
    return pi, s


@lru_cache(maxsize=16)
def _matrices(seed: int, d: int) -> tuple[jax.Array, jax.Array]:
    return turbo_matrices(jax.random.PRNGKey(seed), d)


@jax.jit
def mse_encode(u, pi, bounds):
    """Centroid indices (uint8) of unit rows ``u`` rotated by ``pi`` (see module doc)."""
    y = jnp.einsum("...j,kj->...k", u, pi, precision=_HI)
    return (y[..., None] > bounds).sum(-1).astype(jnp.uint8)


@jax.jit
def mse_decode(idx, pi, cents):
    """``Pi^T c[idx]`` per row (a unit-scale reconstruction)."""
    return jnp.einsum("...k,kj->...j", cents[idx.astype(jnp.int32)], pi, precision=_HI)


@jax.jit
def qjl_encode(r, s):
    """(sign(S r) as int8 +-1 with sign(0) = +1, ||r|| float32 (..., 1))."""
    proj = jnp.einsum("...j,ij->...i", r, s, precision=_HI)
    return jnp.where(proj >= 0, 1, -1).astype(jnp.int8), jnp.linalg.norm(r, axis=-1, keepdims=True)


@jax.jit
def qjl_decode(signs, gamma, s):
    """``sqrt(pi/2) / d * gamma * S^T signs`` per row."""
    d = s.shape[0]
    back = jnp.einsum("...i,ij->...j", signs.astype(jnp.float32), s, precision=_HI)
    return back * (gamma * jnp.float32(math.sqrt(math.pi / 2) / d))


@jax.jit
def _unit(x):
    n = jnp.linalg.norm(x, axis=-1, keepdims=True)
    return _exact.true_div(x, jnp.where(n == 0, 1.0, n)), n


@dataclass(frozen=True)
class TurboQuant:
    """TurboQuant (MSE or inner-product variant) at ``bits`` per coordinate; see module doc."""

    name: str
    bits: int
    inner_product: bool = False
    seed: int = 0
    storage: str | None = None

    def __post_init__(self):
        if not (2 if self.inner_product else 1) <= self.bits <= 8:
            raise SimlowError(f"{self.name}: bits must be 1..8 (2..8 for the inner-product variant)")

    @property
    def bits_per_weight(self) -> float:
        return float(self.bits)

    @property
    def mse_bits(self) -> int:
        """Bits of the MSE stage (b, or b - 1 when one bit goes to the QJL residual)."""
        return self.bits - 1 if self.inner_product else self.bits

    def codebook(self, d: int):
        return lloyd_max(self.mse_bits, d)

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        d = arr.shape[-1]
        if d < 3:
            raise SimlowError(f"{self.name}: vectors need at least 3 coordinates, got {d}")
        cb = self.codebook(d)
        pi, s = _matrices(self.seed, d)
        u, n = _unit(arr)
        n16 = _fp16(n, self.name, "norm")
        idx = mse_encode(u, pi, jnp.asarray(cb.boundaries, jnp.float32))
        aux = {}
        if self.inner_product:
            r = _exact.sub(u, mse_decode(idx, pi, jnp.asarray(cb.centroids, jnp.float32)))
            aux["qjl"], gamma = qjl_encode(r, s)
            aux["gamma"] = gamma.astype(jnp.float16)
        return QTensor(idx, n16, self, arr.shape, aux)

    def dequantize(self, q: QTensor) -> jax.Array:
        d = q.shape[-1]
        pi, s = _matrices(self.seed, d)
        unit = mse_decode(q.codes, pi, jnp.asarray(self.codebook(d).centroids, jnp.float32))
        if self.inner_product:
            unit = _exact.add(unit, qjl_decode(q.aux["qjl"], q.aux["gamma"].astype(jnp.float32), s))
        return _exact.mul(unit, q.scales.astype(jnp.float32))


def _fp16(v: jax.Array, name: str, what: str) -> jax.Array:
    v16 = v.astype(jnp.float16)
    if not bool(jnp.isfinite(v16).all()):
        raise SimlowError(f"{name}: a vector {what} exceeds the float16 range (65504) it is stored in")
    return v16


TURBO = [TurboQuant(f"turbo{b}", b, storage="turbo3" if b == 3 else None) for b in (1, 2, 3, 4)]
TURBO_IP = [TurboQuant(f"turbo{b}_ip", b, inner_product=True) for b in (2, 3, 4)]
