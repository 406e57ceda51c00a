"""Casts between float32 and small floats (eXmY, E8M0), done on the integer bits.

Layering: uses ``numerics`` and ``_exact``; used by the MX/NVFP4 block formats and the
plain minifloat formats.

Why bits and not float arithmetic: XLA on CPU flushes float32 subnormals to zero, and a
scaled cast ``x / 2**e`` would round twice near the bottom of the range. Here the float32
value is split into an integer significand ``M`` and exponent ``E`` (``x = M * 2**(E-23)``,
``2**23 <= M < 2**24`` after normalising subnormals) and rounded once, in integers:

* target quantum exponent ``q = max(E_rel, emin) - mbits`` (``E_rel = E - exp_offset``)
* ``n = RNE(M / 2**k)``, ``k = 23 + q - E_rel`` (a right shift with round-half-even)
* magnitude code ``= (max(E_rel - emin, 0) << mbits) + n`` (a carry out of the mantissa
  moves into the exponent field by itself, and ``n == 2**mbits`` in the subnormal range is
  exactly the smallest normal's code).

``exp_offset`` lets an MX block cast ``x / 2**shared_exp`` without a float division.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simlow.quant._exact import bits_f32, f32_bits
from simlow.numerics import FpFormat, Overflow

_QNAN = 0x7FC00000


def _rne_shift(m: jax.Array, k: jax.Array) -> jax.Array:
    """``round_half_even(m / 2**k)`` for uint32 ``m < 2**24`` and ``1 <= k <= 30``."""
    k = k.astype(jnp.uint32)
    base = m >> k
    rem = m & ((jnp.uint32(1) << k) - 1)
    half = jnp.uint32(1) << (k - 1)
    up = (rem > half) | ((rem == half) & ((base & 1) == 1))
    return (base + up.astype(jnp.uint32)).astype(jnp.int32)


def split_f32(x: jax.Array) -> tuple[jax.Array, ...]:
    """(sign, M, E, is_zero, is_inf, is_nan) of float32 ``x``; subnormals normalised."""
    u = f32_bits(x)
    s = (u >> 31).astype(jnp.int32)
    a = u & jnp.uint32(0x7FFFFFFF)
    ef = (a >> 23).astype(jnp.int32)
    mant = a & jnp.uint32(0x7FFFFF)
    lz = jnp.maximum(jax.lax.clz(mant).astype(jnp.int32) - 8, 0)
    big_m = jnp.where(ef > 0, mant | jnp.uint32(1 << 23), mant << lz.astype(jnp.uint32))
    e = jnp.where(ef > 0, ef - 127, -126 - lz)
    return s, big_m, e, a == 0, a == 0x7F800000, a > 0x7F800000


def _encode(x, exp_offset, fmt: FpFormat):
    s, big_m, e, zero, inf, nan = split_f32(x)
    e_rel = e - exp_offset
    k = jnp.minimum(23 - fmt.mbits + jnp.maximum(fmt.emin - e_rel, 0), 30)
    n = _rne_shift(big_m, k)
    field = jnp.minimum(jnp.maximum(e_rel - fmt.emin, 0), 255)
    mag = (field << fmt.mbits) + n
    over = {Overflow.SATURATE: fmt.max_code, Overflow.NAN: fmt.nan_code,
            Overflow.INF: fmt.inf_code}[fmt.overflow]
    mag = jnp.where((mag > fmt.max_code) | inf, over, mag)
    mag = jnp.where(zero, 0, mag)
    sign = s
    if fmt.nan_code is not None:
        mag = jnp.where(nan, fmt.nan_code, mag)
    else:  # numerics: NaN -> zero magnitude with the sign bit inverted
        mag = jnp.where(nan, 0, mag)
        sign = jnp.where(nan, 1 - s, s)
    return ((sign << (fmt.ebits + fmt.mbits)) | mag).astype(jnp.uint8)


_encode = jax.jit(_encode, static_argnums=2)


def encode(x: jax.Array, fmt: FpFormat, exp_offset=0) -> jax.Array:
    """uint8 code of ``x * 2**-exp_offset`` in ``fmt`` (RNE; edges as in ``numerics``)."""
    return _encode(jnp.asarray(x, jnp.float32), jnp.asarray(exp_offset, jnp.int32), fmt)


def int_pow2_bits(sig: jax.Array, x: jax.Array) -> jax.Array:
    """float32 bits (int32) of ``sig * 2**x`` for int32 ``0 <= sig < 2**24``, built exactly
    from integers (no float arithmetic, so no flush-to-zero). Bits below the subnormal grid
    (2**-149) are truncated toward zero; overflow gives +inf."""
    p = 31 - jax.lax.clz(jnp.maximum(sig, 1))                    # floor(log2 sig)
    ev = p + x
    mant = (sig << jnp.maximum(23 - p, 0)) & 0x7FFFFF
    normal = ((ev + 127) << 23) | mant
    subnormal = jnp.where(x + 149 >= 0, sig << jnp.clip(x + 149, 0, 31),
                          sig >> jnp.clip(-(x + 149), 0, 31))
    bits = jnp.where(ev >= -126, normal, subnormal)
    bits = jnp.where(ev > 127, 0x7F800000, bits)
    return jnp.where(sig == 0, 0, bits)


def _decode(code, exp_offset, fmt: FpFormat):
    c = code.astype(jnp.int32)
    s = (c >> (fmt.ebits + fmt.mbits)) & 1
    mag = c & (fmt.sign_bit - 1)
    ef = mag >> fmt.mbits
    mm = mag & ((1 << fmt.mbits) - 1)
    sig = jnp.where(ef > 0, mm + (1 << fmt.mbits), mm)          # integer significand N
    x = jnp.where(ef > 0, ef - fmt.bias, fmt.emin) - fmt.mbits + exp_offset  # value N * 2**x
    bits = int_pow2_bits(sig, x)
    if fmt.inf_code is not None:
        bits = jnp.where(mag == fmt.inf_code, 0x7F800000, bits)
    if fmt.nan_code is not None:
        nan = (mag == fmt.nan_code) if fmt.inf_code is None else (mag > fmt.inf_code)
        bits = jnp.where(nan, _QNAN, bits)
    return bits_f32(bits.astype(jnp.uint32) | (s.astype(jnp.uint32) << 31))


_decode = jax.jit(_decode, static_argnums=2)


def decode(code: jax.Array, fmt: FpFormat, exp_offset=0) -> jax.Array:
    """float32 value of ``code`` times ``2**exp_offset`` (exact; NaN codes -> quiet NaN)."""
    return _decode(jnp.asarray(code), jnp.asarray(exp_offset, jnp.int32), fmt)


@jax.jit
def encode_e8m0(x: jax.Array) -> jax.Array:
    """uint8 E8M0 code of float32 ``x``: the generic cast defined in ``numerics`` (nearest
    power of two, ties up in magnitude, float32 subnormals included; 0, negative, inf, NaN
    and x >= 1.5 * 2**127 -> 0xFF). Not the MX scale, which is a floor (``mx``).

    Normal x = 1.f * 2**e: code e + 127, plus one when f >= 0.5 (bit 22 of the mantissa).
    Subnormal x = mant * 2**-149: 0x00 (2**-127) below 1.5 * 2**-127 (mant 0x600000), else
    0x01 (2**-126); the same threshold rule, so e.g. 1.25 * 2**-127 -> 0x00.
    """
    u = f32_bits(jnp.asarray(x, jnp.float32))
    ef = ((u >> 23) & 0xFF).astype(jnp.int32)
    mant = u & jnp.uint32(0x7FFFFF)
    up = ((u >> 22) & 1).astype(jnp.int32)
    code = jnp.where(ef > 0, jnp.minimum(ef + up, 255), (mant >= 0x600000).astype(jnp.int32))
    bad = ((u >> 31) == 1) | ((u & jnp.uint32(0x7FFFFFFF)) == 0) | (ef == 255)
    return jnp.where(bad, 255, code).astype(jnp.uint8)


@jax.jit
def decode_e8m0(code: jax.Array) -> jax.Array:
    """float32 ``2**(code-127)``; code 0 is the subnormal 2**-127, code 0xFF is NaN."""
    c = jnp.asarray(code).astype(jnp.uint32)
    bits = jnp.where(c == 0, jnp.uint32(0x00400000), c << 23)
    return bits_f32(jnp.where(c == 255, jnp.uint32(_QNAN), bits))
