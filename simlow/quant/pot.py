"""Power-of-two (PoT), additive powers-of-two (APoT) and OrpQuant (PoT + rotated PoT residual).

Layering: uses ``_exact``, ``base``, ``rotations``; registered in ``registry``.

All three share one scalar rule: per row (channel) the scale ``alpha`` is
``float16(amax / top)`` (``top`` = the largest level), ``v = |x| / alpha`` (float32 IEEE),
and ``v`` goes to the *nearest level in linear distance*; every midpoint between levels is
dyadic, so the comparison is exact; **ties go to the smaller magnitude**; values above the
top level clamp to it. The sign is restored; zero (and anything below half the smallest
non-zero level) codes to 0. Dequantize ``sign * level * alpha`` (float32, one rounding).

* ``pot{b}``: levels {0} U {2**-t : t = 0 .. 2**(b-1) - 2}, in ascending order. Codes: int8
  sign-magnitude indices into that table, ``c = sign * i`` with level ``i`` = ``2**(i - top)``,
  ``top = 2**(b-1) - 1`` (so ``|c| = top`` is 1 and ``|c| = 1`` the smallest power), 0 = zero;
  the weight is ``alpha * (-1)**[c<0] * 2**(|c| - top)``, i.e. the MAC shifts the activation
  right by ``top - |c|`` (a shift, no multiplier).
* ``apot{b}``: APoT (Li, Dong, Wang 2020, official ``build_power_value`` with B = b-1
  magnitude bits + sign) whose levels, times a power of two, are each a sum of at most two
  powers of two (two shifts and an add): B=2 {0,1,2,4}/4, B=3 {0,1,2,3,4,6,8,10}/8,
  B=4 {0,1,2,3,4,6,8,9,12,16,18,24,32,33,36,48}/32. (The paper normalises the top to 1; the
  scale absorbs that.) Codes: int8 ``sign * (index + 1)`` into the level table, 0 = zero.
  The paper's weight standardisation and learned clipping are training-time and not here.
* ``orp{b}`` (OrpQuant, an unsigned web article): it describes "a second orthogonal residual
  projection lattice ... implemented entirely with shift and add operations" without a
  formula. simlow implements this reading: ``W ~ P1 + P2 H`` where ``P1 = pot_b(W)``,
  the residual ``R = W - deq(P1)`` is rotated by the orthonormal Walsh-Hadamard transform
  along the row (``R H^T``, adds/subtracts only), and ``P2 = pot_b(R H^T)``; dequantize
  ``deq(P1) + deq(P2) H`` (``H`` orthonormal). A matmul ``W x`` becomes two shift-add passes, one on ``x`` and
  one on ``H x`` (an FWHT of the activation). Storage 2b bits per weight + two scales per
  row. The article's perplexity and area claims are not reproduced here; this is the
  arithmetic, so its error can be measured. Row length must suit ``rotations.hadamard``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp

from simlow.quant import _exact
from simlow.quant.base import as_input
from simlow.quant.qtensor import QTensor

_APOT = {2: ((0, 1, 2, 4), 4), 3: ((0, 1, 2, 3, 4, 6, 8, 10), 8),
         4: ((0, 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 33, 36, 48), 32)}


def pot_levels(bits: int) -> tuple[float, ...]:
    return (0.0,) + tuple(2.0 ** -t for t in range(2 ** (bits - 1) - 2, -1, -1))


def apot_levels(bits: int) -> tuple[float, ...]:
    ints, den = _APOT[bits - 1]
    return tuple(i / den for i in ints)


@partial(jax.jit, static_argnums=1)
def _nearest(x, levels: tuple[float, ...]):
    lv = jnp.asarray(levels, jnp.float32)
    amax = _exact.abs_max(x)
    a16 = _exact.true_div(amax, levels[-1]).astype(jnp.float16)
    alpha = a16.astype(jnp.float32)
    v = _exact.true_div(jnp.abs(x), jnp.where(alpha == 0, 1.0, alpha))
    mids = (lv[1:] + lv[:-1]) / 2                       # dyadic: exact
    idx = (v[..., None] > mids).sum(-1)                 # ties (v == mid) stay low
    idx = jnp.where(alpha == 0, 0, idx)
    sign = jnp.where(jnp.signbit(x), -1, 1)
    return jnp.where(idx == 0, 0, sign * idx).astype(jnp.int8), a16


@partial(jax.jit, static_argnums=2)
def _values(codes, a16, levels):
    lv = jnp.asarray(levels, jnp.float32)
    c = codes.astype(jnp.int32)
    mag = lv[jnp.abs(c)]
    return jnp.where(c < 0, -mag, mag) * a16.astype(jnp.float32)


@dataclass(frozen=True)
class LevelFormat:
    """A per-row scaled sign + level-table format (PoT or APoT; see the module docstring)."""

    name: str
    levels: tuple[float, ...]
    bits: int
    storage: str | None = None

    @property
    def bits_per_weight(self) -> float:
        return float(self.bits)

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        rows = arr.reshape(-1, arr.shape[-1])
        codes, a16 = _nearest(rows, self.levels)
        return QTensor(codes.reshape(arr.shape), a16, self, arr.shape)

    def dequantize(self, q: QTensor) -> jax.Array:
        rows = q.codes.reshape(-1, q.shape[-1])
        return _values(rows, q.scales, self.levels).reshape(q.shape)


@dataclass(frozen=True)
class OrpQuant:
    """OrpQuant as interpreted in the module docstring: PoT + PoT of the WHT-rotated residual."""

    name: str
    bits: int
    storage: str | None = None

    @property
    def bits_per_weight(self) -> float:
        return float(2 * self.bits)

    def _pot(self) -> LevelFormat:
        return LevelFormat(f"pot{self.bits}", pot_levels(self.bits), self.bits)

    def quantize(self, x) -> QTensor:
        from simlow.quant.rotations import hadamard_transform
        arr = as_input(x, self.name)
        pot = self._pot()
        q1 = pot.quantize(arr)
        resid = _exact.sub(arr, q1.dequantize())
        q2 = pot.quantize(hadamard_transform(resid))
        return QTensor(q1.codes, q1.scales, self, arr.shape,
                       {"residual_codes": q2.codes, "residual_scales": q2.scales})

    def dequantize(self, q: QTensor) -> jax.Array:
        from simlow.quant.rotations import hadamard_transform
        pot = self._pot()
        base = QTensor(q.codes, q.scales, pot, q.shape).dequantize()
        res = QTensor(q.aux["residual_codes"], q.aux["residual_scales"], pot, q.shape).dequantize()
        return _exact.add(base, hadamard_transform(res, inverse=True))


POT = [LevelFormat(f"pot{b}", pot_levels(b), b, storage={3: "pot3", 4: "pot4"}.get(b)) for b in (3, 4, 5)]
APOT = [LevelFormat(f"apot{b}", apot_levels(b), b) for b in (3, 4, 5)]
ORP = [OrpQuant(f"orp{b}", b) for b in (2, 3, 4)]
