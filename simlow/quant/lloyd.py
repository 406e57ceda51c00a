"""Lloyd-Max scalar codebooks for one coordinate of a uniformly random unit vector.

Layering: NumPy only (float64); used by ``turboquant``.

After a uniformly random rotation, each coordinate ``x_j`` of a unit vector in R^d has the
density (TurboQuant, Zandieh, Daliri, Hadian, Mirrokni 2025, arXiv 2504.19874, sec. 3)

    f(x) = Gamma(d/2) / (sqrt(pi) Gamma((d-1)/2)) * (1 - x**2) ** ((d-3)/2),   -1 <= x <= 1

(a Beta((d-1)/2, (d-1)/2) law stretched to [-1, 1]), which tends to N(0, 1/d). simlow uses
the **exact finite-d density**, not the Gaussian limit: the codebook is computed for the
scaled coordinate ``z = sqrt(d) x`` (unit variance for every d) and divided by sqrt(d).

Lloyd-Max iteration (Lloyd 1957 / Max 1960), on a fixed grid:

1. tabulate g(z) on ``2**16 + 1`` equally spaced points over [-L, L], ``L = min(sqrt(d), 12)``
   (the mass beyond 12 standard deviations is below 1e-30), and the cumulative integrals
   ``F0 = int g``, ``F1 = int z g``, ``F2 = int z**2 g`` by the trapezoid rule;
2. start from ``2**b`` centroids evenly spaced over [-2, 2] (symmetric);
3. repeat: boundaries ``t_k = (c_k + c_{k+1}) / 2``; centroids ``c_k = (F1(t_{k+1}) -
   F1(t_k)) / (F0(t_{k+1}) - F0(t_k))`` (the conditional mean of the cell; F0, F1 read by
   linear interpolation), until no centroid moves by more than 1e-12 (at most 20,000 rounds);
4. the distortion per coordinate is ``E[z**2] - sum_k c_k**2 P_k`` (the centroid condition
   makes the cross term equal the squared term); for a unit vector, ``E||x - x~||**2`` equals
   this number (d coordinates, each with 1/d of the variance).

The result is deterministic (float64 NumPy, no randomness) and is rounded to float32 once,
so it is a fixed constant table for each (b, d). For large d it reproduces Max's Gaussian
table (b = 1..4: MSE 0.3634, 0.1175, 0.03454, 0.00950; Max, IRE Trans. Inf. Theory IT-6, 1960).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from simlow.errors import SimlowError

_GRID = 2 ** 16 + 1
_TOL = 1e-12
_MAX_ROUNDS = 20_000


@dataclass(frozen=True)
class Codebook:
    """A symmetric Lloyd-Max codebook for a coordinate of a random unit vector in R^dim.

    ``centroids`` (2**bits, increasing) and ``boundaries`` (2**bits - 1 midpoints) are in the
    coordinate's own units (multiply by sqrt(dim) for unit-variance units); ``mse`` is the
    expected ``||x - x~||**2`` of a unit vector quantized coordinate-wise (= per-coordinate
    MSE in unit-variance units); ``rounds`` is how many Lloyd rounds it took.
    """

    bits: int
    dim: int
    centroids: tuple[float, ...]
    boundaries: tuple[float, ...]
    mse: float
    rounds: int


def _log_density(z: np.ndarray, d: int) -> np.ndarray:
    """log of the density of z = sqrt(d) * x (x one coordinate of a uniform unit vector)."""
    const = math.lgamma(d / 2) - math.lgamma((d - 1) / 2) - 0.5 * math.log(math.pi) - 0.5 * math.log(d)
    with np.errstate(divide="ignore"):
        return const + (d - 3) / 2 * np.log1p(-np.minimum(z * z / d, 1.0))


def _cumulative(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    half = min(math.sqrt(d), 12.0)
    z = np.linspace(-half, half, _GRID)
    g = np.exp(_log_density(z, d)) if d != 3 else np.full_like(z, 1 / (2 * math.sqrt(3)))

    def cum(v):
        return np.concatenate([[0.0], np.cumsum((v[1:] + v[:-1]) / 2 * np.diff(z))])
    return z, cum(g), cum(z * g), cum(z * z * g)


@lru_cache(maxsize=64)
def lloyd_max(bits: int, dim: int) -> Codebook:
    """The Lloyd-Max codebook of ``2**bits`` levels for dimension ``dim`` (see module doc)."""
    if not 1 <= bits <= 8:
        raise SimlowError(f"lloyd_max: bits must be 1..8, got {bits}")
    if dim < 3:
        raise SimlowError(f"lloyd_max: dimension must be at least 3, got {dim}")
    z, f0, f1, f2 = _cumulative(dim)
    c = np.linspace(-2.0, 2.0, 2 ** bits) if bits > 1 else np.array([-1.0, 1.0])
    edges_lo, edges_hi = np.array([z[0]]), np.array([z[-1]])
    for rounds in range(1, _MAX_ROUNDS + 1):
        t = np.concatenate([edges_lo, (c[1:] + c[:-1]) / 2, edges_hi])
        m0, m1 = np.diff(np.interp(t, z, f0)), np.diff(np.interp(t, z, f1))
        new = m1 / m0
        new = (new - new[::-1]) / 2          # keep it exactly symmetric
        moved = float(np.abs(new - c).max())
        c = new
        if moved < _TOL:
            break
    t = np.concatenate([edges_lo, (c[1:] + c[:-1]) / 2, edges_hi])
    p = np.diff(np.interp(t, z, f0))
    mse = float(f2[-1] - np.sum(c * c * p))
    scale = 1 / math.sqrt(dim)
    return Codebook(bits, dim, tuple(float(v) for v in np.float32(c * scale)),
                    tuple(float(v) for v in np.float32(t[1:-1] * scale)), mse, rounds)
