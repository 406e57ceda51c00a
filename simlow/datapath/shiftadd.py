"""Shift-add power-of-two MAC (``ShiftAddUnit``): PoT, APoT and the residual-lattice variant.

Weights, as plain arrays: ``w = (sign, exp)`` with ``sign`` in {-1, 0, +1} and integer
``exp``, each shaped (K, N) for one term or (T, K, N) for ``terms=T`` (=2). A weight is
``sum_t sign_t * 2^exp_t``; a zero sign means "no term" (its exp is ignored).

Semantics, per output (m, n), for k in order and within k for term 0 then term 1:
the activation ``a[m,k]`` (signed ``a_bits`` code) is shifted by ``d = exp + frac_bits``
places into accumulator units of ``2^-frac_bits`` (left for d >= 0, exact; right for
d < 0, dropping the shifted-out bits by ``truncation``: FLOOR = arithmetic shift,
TOWARD_ZERO = shift of the magnitude), then added (sign +1) or subtracted (sign -1) into the
``acc_bits`` accumulator, one accumulator step per term, under ``overflow``. The sign is
applied after the shift, as a shifter feeding an add/subtract unit does: with FLOOR,
``-(-5 >> 1) = 3``. The output is the accumulator in units of ``2^-frac_bits`` (int32 when
``acc_bits <= 32``).

Variants: PoT (``terms=1``); APoT (``terms=2, shared_sign=True``: both terms carry the
weight's sign, Li et al. ICLR 2020); residual lattice (``terms=2, shared_sign=False``).
The OrpQuant article (an unsigned web article, no URL) gives no formula: "a second
orthogonal residual projection lattice ... implemented entirely with shift and add". simlow
reads it as a PoT code plus a PoT code of the residual ``w - s1*2^e1`` with its own sign,
so each weight costs two shifts and two adds; the "orthogonal projection" is read as a
rotation applied outside the MAC (fused into the weights or done by a separate Hadamard
unit, as QuaRot does), so it does not change this unit. This is an interpretation, not the
authors' design.

Fast path (``simlow.datapath.shiftadd_prepared``): the weights are prepared once
(``prepare``; ``run`` also accepts the result, and prepares raw weights itself), grouped by
shift distance into one stacked exact matmul. It is used when no running sum can leave the
accumulator (a bound from the weights, then the exact per-output sum of |terms|), or under
``SATURATE_AT_END``; otherwise terms are added one accumulator step at a time.

Counts, from the weights (times M): SHIFT(a_bits, shift_range), INT_ADD(acc_bits) and
REG_WRITE(acc_bits) per nonzero term; NEGATE(acc_bits) per subtracted term; SKIP(a_bits)
per zero term (zero activations are not skipped); OVERFLOW / SATURATE(acc_bits).
Conservation: INT_ADD + SKIP = M * K * N * terms.
"""

from __future__ import annotations

import numpy as np

from simlow.datapath import accumulate as accm
from simlow.datapath.codes import int_codes, matmul_shapes
from simlow.datapath.exact import max_abs
from simlow.datapath.shiftadd_prepared import PreparedPot, exact_sum, prepare_codes, step_bound
from simlow.datapath.configs import Overflow, ShiftAddUnit, Truncation
from simlow.errors import SimlowError
from simlow.events import Event, Op


def shift(a: np.ndarray, d, trunc: Truncation) -> np.ndarray:
    """``a * 2^d`` for d >= 0; for d < 0 the bits shifted out are dropped by ``trunc``."""
    d = np.asarray(d)
    left = a << np.maximum(d, 0)
    r = np.minimum(-np.minimum(d, 0), 62)
    if trunc is Truncation.FLOOR:
        right = a >> r
    else:
        right = np.where(a < 0, -((-a) >> r), a >> r)
    return np.where(d >= 0, left, right)


def weight_codes(unit: ShiftAddUnit, w) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(sign, exp)`` int64 arrays of shape (terms, K, N)."""
    try:
        sign, exp = (np.asarray(x) for x in w)
    except (TypeError, ValueError):
        raise SimlowError("PoT weights must be a pair (sign, exp) of integer arrays") from None
    if sign.shape != exp.shape or sign.dtype.kind not in "iu" or exp.dtype.kind not in "iu":
        raise SimlowError(f"sign and exp must be integer arrays of one shape, "
                          f"got {sign.shape} and {exp.shape}")
    if sign.ndim == 2 and unit.terms == 1:
        sign, exp = sign[None], exp[None]
    if sign.ndim != 3 or sign.shape[0] != unit.terms:
        raise SimlowError(f"unit {unit.name!r} takes {unit.terms} term(s): shape (K, N) or "
                          f"({unit.terms}, K, N), got {sign.shape}")
    if sign.size and (sign.min() < -1 or sign.max() > 1):
        raise SimlowError("PoT signs must be -1, 0 or +1 (0 = no term)")
    sign = sign.astype(np.int8)
    used = exp[sign != 0]
    if used.size and (used.min() < unit.exp_min or used.max() > unit.exp_max):
        raise SimlowError(f"PoT exponents must lie in [{unit.exp_min}, {unit.exp_max}] for unit "
                          f"{unit.name!r}, got [{used.min()}, {used.max()}]")
    if unit.shared_sign and unit.terms == 2 and ((sign[1] != 0) & (sign[1] != sign[0])).any():
        raise SimlowError(f"unit {unit.name!r} (APoT) needs the second term's sign to be 0 or the first's")
    return sign, np.where(sign != 0, exp, 0).astype(np.int32)


def _steps(unit: ShiftAddUnit, a, sign, d):
    for k in range(a.shape[1]):
        for t in range(unit.terms):
            yield sign[t, k][None, :] * shift(a[:, k][:, None], d[t, k][None, :], unit.truncation)


def prepare(unit: ShiftAddUnit, w) -> PreparedPot:
    """Validate and group PoT weights ``(sign, exp)`` once, for any number of GEMMs."""
    return prepare_codes(unit, *weight_codes(unit, w))


def _prepared(unit: ShiftAddUnit, w) -> PreparedPot:
    if not isinstance(w, PreparedPot):
        return prepare(unit, w)
    if w.unit != unit:
        raise SimlowError(f"weights were prepared for unit {w.unit.name!r}, not {unit.name!r}")
    return w


def _no_event(unit: ShiftAddUnit, prep: PreparedPot, a: np.ndarray, amax: int) -> bool:
    """True if no running sum can leave the accumulator (shiftadd_prepared docstring)."""
    if accm.fits(step_bound(prep, amax), unit.acc_bits):
        return True
    return accm.fits(int(exact_sum(prep, a, amax, absolute=True).max(initial=0)), unit.acc_bits)


def run(unit: ShiftAddUnit, a, w) -> tuple[np.ndarray, dict[Event, int]]:
    """Bit-exact accumulator output of ``unit`` on codes ``a`` (M, K) and weights ``w``
    (``(sign, exp)`` or ``prepare(unit, (sign, exp))``), and counts."""
    a = int_codes(a, unit.a_bits, "a")
    prep = _prepared(unit, w)
    matmul_shapes(a, prep.k)
    amax = max_abs(a)
    if unit.overflow is Overflow.SATURATE_AT_END:
        res = accm.accumulate([exact_sum(prep, a, amax)], unit.acc_bits, unit.overflow)
    elif _no_event(unit, prep, a, amax):  # wrap / clamp never act: the exact sum is the value
        res = accm.AccResult(exact_sum(prep, a, amax), 0, 0)
    else:
        res = accm.accumulate(_steps(unit, a, prep.sign, prep.dist), unit.acc_bits, unit.overflow)
    y = res.value.astype(np.int32 if unit.acc_bits <= 32 else np.int64)
    return y, counts(unit, a.shape[0], prep, res)


def counts(unit: ShiftAddUnit, m: int, prep: PreparedPot, res: accm.AccResult) -> dict[Event, int]:
    """The events of ``m`` activation rows through ``prep`` (module docstring), with the
    accumulator's overflow and saturation events from ``res``."""
    terms = m * prep.terms
    acc = unit.acc_bits
    out = {
        Event(Op.SHIFT, unit.a_bits, unit.shift_range): terms,
        Event(Op.INT_ADD, acc): terms,
        Event(Op.REG_WRITE, acc): terms,
        Event(Op.NEGATE, acc): m * prep.negated,
        Event(Op.SKIP, unit.a_bits): m * prep.zeros,
        Event(Op.OVERFLOW, acc): res.overflows,
        Event(Op.SATURATE, acc): res.saturations,
    }
    return {e: c for e, c in out.items() if c}
