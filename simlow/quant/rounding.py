"""Exact rounding of float32 values to integers under each tie rule (``numerics.Rounding``).

All are exact on float32 inputs: ``v - floor(v)`` is exactly representable, so no sum
``v + 0.5`` is ever rounded (``floor(v + 0.5)`` in float32 maps 0.49999997 to 1).
"""

from __future__ import annotations

import jax.numpy as jnp

from simlow.quant._exact import round_half_away
from simlow.numerics import Rounding


def _half_down(v):
    ce = jnp.ceil(v)
    return ce - ((ce - v) >= 0.5).astype(v.dtype)


def _half_up(v):
    fl = jnp.floor(v)
    return fl + ((v - fl) >= 0.5).astype(v.dtype)


def round_to_int(v, rounding: Rounding):
    """``v`` rounded to an integer-valued float32 with the given tie rule."""
    if rounding is Rounding.RNE:
        return jnp.round(v)
    if rounding is Rounding.HALF_AWAY:
        return round_half_away(v)
    if rounding is Rounding.HALF_UP:
        return _half_up(v)
    if rounding is Rounding.HALF_DOWN:
        return _half_down(v)
    return jnp.sign(v) * _half_down(jnp.abs(v))  # HALF_TO_ZERO
