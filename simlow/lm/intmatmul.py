"""The integer MAC unit (``simlow.datapath.intmac``) in JAX: exact, same bits as NumPy.

``int_matmul_scaled(unit, a, w, a_scale, w_scale)`` computes what
``simlow.datapath.intmac.run(unit, a, w.T, a_scale, w_scale.T)`` computes: K splits into
G equal groups, each group's integer dot ``acc_g`` is exact, and the float32 output is
``t_0 + t_1 + ...`` (group order) with ``t_g = (fp32(acc_g) * a_scale[m,g]) * w_scale[n,g]``.

Exactness: a group's codes are split into chunks of at most ``chunk_k(unit)`` elements with
``chunk * 2**(a_bits-1) * 2**(w_bits-1) < 2**24``; the float32 matmul of a chunk sums
integers whose partial sums all stay below 2**24 in magnitude, so it is exact in any order,
and the chunks are added in int32. When ``K_g * 2**(a_bits-1) * 2**(w_bits-1)`` fits the
unit's accumulator no step can overflow and every overflow policy gives this exact sum
(as in intmac's fast path); otherwise (a narrow accumulator that may wrap or saturate)
the NumPy unit itself runs (``used_numpy`` says so), since the step order matters there.
The epilogue's products are laundered against FMA contraction.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simlow.datapath import IntMacUnit, intmac
from simlow.datapath.accumulate import fits
from simlow.quant._blocks import launder

F32_EXACT = 1 << 24


def chunk_k(unit: IntMacUnit) -> int:
    """The largest K whose integer dot is exact in float32 for any codes of the unit."""
    return (F32_EXACT - 1) // ((1 << (unit.a_bits - 1)) * (1 << (unit.w_bits - 1)))


def overflow_free(unit: IntMacUnit, k: int) -> bool:
    return fits(k * (1 << (unit.a_bits - 1)) * (1 << (unit.w_bits - 1)), unit.acc_bits)


@partial(jax.jit, static_argnums=(4, 5))
def _scaled(a, w, a_scale, w_scale, groups: int, chunk: int, zero):
    m, k = a.shape
    kg = k // groups
    y = None
    for g in range(groups):
        acc = jnp.zeros((m, w.shape[0]), jnp.int32)
        for c0 in range(g * kg, (g + 1) * kg, chunk):
            c1 = min(c0 + chunk, (g + 1) * kg)
            part = jnp.dot(a[:, c0:c1].astype(jnp.float32), w[:, c0:c1].astype(jnp.float32).T,
                           precision=jax.lax.Precision.HIGHEST)
            acc = acc + part.astype(jnp.int32)
        t = launder(launder(acc.astype(jnp.float32) * a_scale[:, g:g + 1], zero) * w_scale[:, g][None, :], zero)
        y = t if y is None else y + t
    return y


def int_matmul_scaled(unit: IntMacUnit, a, w, a_scale, w_scale) -> tuple[jax.Array, bool]:
    """Output float32 (M, N) of codes ``a`` (M, K), ``w`` (N, K) with scales ``a_scale``
    (M, G), ``w_scale`` (N, G); and whether the NumPy unit had to run (see module doc)."""
    groups = a_scale.shape[1]
    k = a.shape[1]
    if not overflow_free(unit, k // groups):
        y, _ = intmac.run(unit, np.asarray(a), np.asarray(w).T, np.asarray(a_scale, np.float32),
                          np.asarray(w_scale, np.float32).T)
        return jnp.asarray(y), True
    y = _scaled(jnp.asarray(a), jnp.asarray(w), jnp.asarray(a_scale, jnp.float32),
                jnp.asarray(w_scale, jnp.float32), groups, chunk_k(unit), jnp.uint32(0))
    return y, False
