"""The shift-add PoT / APoT / residual MAC (``simlow.datapath.shiftadd``) in JAX: exact, same
bits and counts as the NumPy unit.

``pot_matmul(unit, a, prep)`` computes what ``shiftadd.run(unit, a, prep)`` computes, for
activation codes ``a`` (M, K) and weights prepared once by ``shiftadd.prepare`` (the
weight-side grouping by shift distance of ``simlow.datapath.shiftadd_prepared``, done
offline in NumPy as a kernel would): the stacked activations ``[cut(a >> r) for each
group]`` (FLOOR: arithmetic right shift of the int32 codes; TOWARD_ZERO: the shift of the
magnitude, sign restored) times the stacked integer weights, as one int32 matmul.

Exactness: every partial sum of that matmul is an integer of magnitude at most
``T = max|a| * step_l1`` (the bound of ``shiftadd_prepared``); when ``T < 2**31`` int32
arithmetic never wraps, so the result is the exact sum in any order. When ``T`` also fits
the unit's accumulator no running sum leaves it and every overflow policy gives this exact
sum; otherwise (a narrow accumulator, or ``T`` past int32) the NumPy unit runs
(``used_numpy`` says so), since the step order matters there.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simlow.datapath import shiftadd
from simlow.datapath.accumulate import AccResult, fits
from simlow.datapath.codes import int_codes, matmul_shapes
from simlow.datapath.configs import ShiftAddUnit, Truncation
from simlow.datapath.exact import max_abs
from simlow.datapath.shiftadd_prepared import PreparedPot, step_bound

INT32_EXACT = 1 << 31


@partial(jax.jit, static_argnums=(2, 3))
def _stacked_dot(a, w, shifts: tuple[int, ...], floor: bool):
    parts = []
    for s in shifts:
        r = jnp.int32(-s)
        if floor:
            parts.append(jnp.right_shift(a, r))
        else:
            parts.append(jnp.sign(a) * jnp.right_shift(jnp.abs(a), r))
    acts = jnp.concatenate(parts, axis=1)
    return jnp.dot(acts, w, preferred_element_type=jnp.int32)


def int_weights(prep: PreparedPot) -> jax.Array:
    """The stacked weights (G*K, N) as int32 (integers of magnitude <= terms * 2**max shift)."""
    return jnp.asarray(prep.weights.astype(np.int32))


def pot_matmul(unit: ShiftAddUnit, a, prep: PreparedPot, w32: jax.Array | None = None):
    """(accumulator output (M, N), counts, used_numpy) of ``unit`` on codes ``a`` (M, K);
    ``w32`` is ``int_weights(prep)`` when the caller keeps it."""
    a = int_codes(np.asarray(a), unit.a_bits, "a")
    matmul_shapes(a, prep.k)
    bound = step_bound(prep, max_abs(a))
    if bound >= INT32_EXACT or not fits(bound, unit.acc_bits):
        y, counts = shiftadd.run(unit, a, prep)
        return jnp.asarray(y), counts, True
    w32 = int_weights(prep) if w32 is None else w32
    y = _stacked_dot(jnp.asarray(a, jnp.int32), w32, prep.shifts, unit.truncation is Truncation.FLOOR)
    counts = shiftadd.counts(unit, a.shape[0], prep, AccResult(None, 0, 0))
    return (y if unit.acc_bits <= 32 else y.astype(jnp.int64)), counts, False
