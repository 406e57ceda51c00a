"""Exact float building blocks that stay equal to two-rounding NumPy references.

Layering: used by every quantizer in ``simlow.quant``; imports only JAX.

Hazard (measured with jax 0.10.2): under ``jax.jit`` on CPU, XLA contracts ``a*b + c`` into a
fused multiply-add (one rounding), which differs from NumPy/gguf (two roundings) on a few
percent of inputs. Flags that stop it are environment switches a user would not know to
set, so instead every quantizer here *materialises* a rounded product by computing it in its
own jitted function (``mul``) and only then adds (``add``/``sub`` or a later stage).
A jitted function's output is a buffer, so no later computation can fuse into it.
Never call these helpers from inside another ``jax.jit`` (they would be inlined and fused).

A second hazard [found here, XLA CPU 0.10.2]: XLA rewrites ``A / broadcast(B)`` (a
division by a scalar, constant or not) into ``A * (1/B)``, which is not correctly rounded
(it changed 36% of ``x / 31``). Every division by a per-block or per-tensor value therefore
goes through ``true_div``, which hides the broadcast divisor behind an optimisation barrier.

A third hazard: XLA on CPU flushes float32 subnormals to zero in arithmetic. Casts to small
floats are therefore done on the integer bits (``simlow.quant.minifloat``), never by float
arithmetic on possibly subnormal values.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np



def true_div(a, b) -> jax.Array:
    """``a / b`` correctly rounded (IEEE) even inside ``jit`` with a broadcast divisor."""
    a, b = jnp.broadcast_arrays(jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32))
    return jax.lax.div(a, jax.lax.optimization_barrier(b))


mul = jax.jit(jnp.multiply)
add = jax.jit(jnp.add)
sub = jax.jit(jnp.subtract)
div = jax.jit(true_div)


def f32(x) -> jax.Array:
    """``x`` as a float32 JAX array (float64 NumPy input is rounded once, RNE)."""
    if isinstance(x, np.ndarray) and x.dtype != np.float32:
        x = x.astype(np.float32)
    return jnp.asarray(x, dtype=jnp.float32)


def f32_bits(x: jax.Array) -> jax.Array:
    """The IEEE bits of a float32 array as uint32."""
    return jax.lax.bitcast_convert_type(x, jnp.uint32)


def bits_f32(u: jax.Array) -> jax.Array:
    """The float32 whose IEEE bits are the uint32 ``u``."""
    return jax.lax.bitcast_convert_type(u.astype(jnp.uint32), jnp.float32)


def abs_max(x: jax.Array, axis: int = -1) -> jax.Array:
    """max |x| along ``axis`` (keepdims), compared on the integer bits: exact also for
    subnormals, which XLA's float max would flush to zero (NaN-free input assumed)."""
    u = f32_bits(x) & jnp.uint32(0x7FFFFFFF)
    return bits_f32(u.max(axis=axis, keepdims=True))


def is_nonzero(x: jax.Array) -> jax.Array:
    """``x != 0`` on the bits (a float comparison would treat subnormals as zero)."""
    return (f32_bits(x) & jnp.uint32(0x7FFFFFFF)) != 0


def floor_log2(x: jax.Array) -> jax.Array:
    """floor(log2|x|) exactly, from the float32 bits (int32; -149.. for subnormals).

    Float32 ``log2`` is wrong a few ulps below powers of two (``log2(nextafter(16, 0)) == 4``); the
    exponent field is not. ``x == 0`` gives -150 (callers treat zero separately).
    """
    u = f32_bits(x) & jnp.uint32(0x7FFFFFFF)
    ef = (u >> 23).astype(jnp.int32)
    mant = (u & jnp.uint32(0x7FFFFF)).astype(jnp.int32)
    sub_e = -118 - jax.lax.clz(mant)  # subnormal: floor(log2(mant)) - 149
    return jnp.where(ef > 0, ef - 127, jnp.where(mant > 0, sub_e, -150))


def round_half_away(p: jax.Array) -> jax.Array:
    """Round half away from zero, exactly (gguf ``np_roundf``: floor(a) + floor(2(a - floor a)))."""
    a = jnp.abs(p)
    fl = jnp.floor(a)
    return jnp.sign(p) * (fl + jnp.floor(2 * (a - fl)))
