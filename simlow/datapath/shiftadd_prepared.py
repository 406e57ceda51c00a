"""Prepared PoT weights and the exact grouped GEMM of the shift-add MAC.

Weights are static in inference, so a real kernel sorts them offline; ``prepare`` does that
once (validation, grouping by shift distance, the stacked weight matrix, the counts that
depend on the weights alone) and ``exact_sum`` is the per-GEMM work.

Grouping. A term with shift distance ``d = exp + frac_bits`` contributes
``sign * shift(a, d)``. Left shifts (d >= 0) are exact multiplications, so every such term
folds into one integer weight matrix ``L[k, n] = sum_t sign_t * 2^d_t`` (applied to the
unshifted activations). Right shifts truncate, so they are grouped by distance ``r = -d``:
group ``r`` has the signed mask ``S_r[k, n] = sum_t sign_t [d_t = -r]`` and applies to the
truncated activations ``A_r = cut(a / 2^r)`` (``floor`` or ``trunc``). Groups with an empty
mask are dropped. The whole GEMM is then one matmul of the stacked activations
``[A | A_r1 | A_r2 | ...]`` (M, G*K) with the stacked weights ``[L; S_r1; S_r2; ...]``
(G*K, N): one BLAS call of inner size G*K instead of G calls and G-1 output additions.

Why not fewer matmuls. ``sum_k g(a_k, w_kn)`` with ``g(a, (s, e)) = s * floor(a 2^-e)``
needs as many rank-one terms per (k, n) as the rank of the table ``g`` over all activation
codes and weight codes; for int8 activations and the 8 exponents 0..-7 that rank is 8 (the
functions ``floor(a / 2^r)``, r = 0..7, are linearly independent on [-128, 127]). The
"linear term plus remainder" rewrite ``floor(a/2^r) = a/2^r - (a mod 2^r)/2^r`` and the
bit-plane rewrite need the same number of matmuls (1 + 7 and 8), so they buy nothing over
the grouping; the savings that remain are merging every left or exact shift into one group,
skipping empty groups, one stacked call, float32 wherever provably exact, and doing the
weight-side work once.

Exactness. Let ``T = max|a| * max_n sum_{t,k} |sign_t[k,n]| * 2^max(d_t[k,n], 0)``
(``step_l1`` times ``max|a|``): a bound on the sum of |terms| of any output, since a right
shift never grows a magnitude (``|floor(a/2^r)| <= |a|``, also for ``trunc``). Every entry
of the stacked activations is an integer of magnitude at most ``max|a|`` and every entry of
the stacked weights an integer, and for an output (m, n) the stacked products sum the same
terms (a left entry ``L = s1 2^d1 + s2 2^d2`` only merges two of them), so any partial sum a
BLAS kernel forms (any subset of the products, in any order or association, with or without
FMA) is an integer of magnitude at most ``T``. If ``T <= 2^24`` (float32) or ``<= 2^53``
(float64) every such integer is representable, so no operation rounds and the result is the
exact sum (the argument of ``simlow.datapath.exact``); beyond 2^53 the groups go through
``exact.int_matmul`` in K chunks. The operands convert exactly: ``|a| <= 2^15``, masks are
at most 2 in magnitude, and the weights are stored in float32 only when ``terms *
2^max(d)`` is at most 2^24 (else float64; ``acc_bits <= 48`` keeps them below 2^50).

No overflow. The accumulator adds one term per step, so every running sum in K order is a
sum of a subset of terms and is bounded by ``T`` too. When ``T`` fits the accumulator (or,
checked second, the exact per-output sum of |terms| does), no step can wrap or saturate and
the exact sum *is* the accumulator's value; otherwise the caller steps element-wise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlow.datapath.exact import F32_EXACT, F64_EXACT, int_matmul
from simlow.datapath.configs import ShiftAddUnit, Truncation
from simlow.errors import SimlowError

_STACK_ELEMS = 1 << 24   # stacked activations per row chunk (64 MB of float32)


@dataclass(frozen=True, eq=False)
class PreparedPot:
    """PoT/APoT weights prepared once for ``unit`` (see the module docstring).

    ``sign``/``dist`` (terms, K, N): validated signs and shift distances ``exp + frac_bits``
    (for the element-wise path); ``shifts``: the activation shift of each stacked group
    (0 for the merged left group, -r for right group r); ``weights`` (G*K, N): the stacked
    weight matrix; ``step_l1``: the largest per-output sum of ``|sign| * 2^max(dist, 0)``
    over every term; ``terms``/``negated``/``zeros``: nonzero, subtracted and zero weight
    terms (times M gives the counts).
    """

    unit: ShiftAddUnit
    sign: np.ndarray
    dist: np.ndarray
    shifts: tuple[int, ...]
    weights: np.ndarray
    step_l1: int
    terms: int
    negated: int
    zeros: int

    @property
    def k(self) -> int:
        return self.sign.shape[1]

    @property
    def groups(self) -> int:
        return len(self.shifts)


def _groups(sign: np.ndarray, dist: np.ndarray) -> tuple[int, ...]:
    """Activation shift per non-empty group: 0 (all left shifts) first, then -1, -2, ..."""
    used = sign != 0
    right = np.bincount(np.maximum(-dist[used & (dist < 0)], 0))
    shifts = [0] if (used & (dist >= 0)).any() else []
    shifts += [-int(r) for r in np.flatnonzero(right)]
    return tuple(shifts) or (0,)


def _stack(sign: np.ndarray, dist: np.ndarray, shifts: tuple[int, ...], dtype) -> np.ndarray:
    """The stacked weights (G*K, N) in ``dtype``: ``L`` then one signed mask per right shift."""
    terms, k, n = sign.shape
    out = np.zeros((len(shifts) * k, n), dtype=dtype)
    small = dist.size == 0 or (-128 <= dist.min() and dist.max() < 128)
    for t in range(terms):
        d = dist[t].astype(np.int8) if small else dist[t]      # int8 compares are cheaper
        s_t = sign[t].astype(dtype)
        for g, shift in enumerate(shifts):
            block = out[g * k:(g + 1) * k]
            if shift == 0:      # left shifts: sign * 2^d, exact in dtype (see prepare_codes)
                np.add(block, np.ldexp(s_t, np.maximum(d, 0).astype(np.int32)), out=block, where=d >= 0)
            else:
                np.add(block, s_t, out=block, where=d == shift)
    return out


def prepare_codes(unit: ShiftAddUnit, sign: np.ndarray, exp: np.ndarray) -> PreparedPot:
    """Prepare validated ``(sign, exp)`` arrays (terms, K, N) for ``unit``."""
    dist = (exp + unit.frac_bits).astype(np.int32)
    shifts = _groups(sign, dist)
    step = np.where(sign != 0, np.int64(1) << np.maximum(dist, 0).astype(np.int64), 0)
    step_l1 = int(step.sum(axis=(0, 1)).max(initial=0))
    biggest = sign.shape[0] << max(int(dist.max(initial=0)), 0)
    weights = _stack(sign, dist, shifts, np.float32 if biggest <= F32_EXACT else np.float64)
    for arr in (sign, dist, weights):
        arr.setflags(write=False)
    return PreparedPot(unit, sign, dist, shifts, weights, step_l1,
                       int(np.count_nonzero(sign)), int(np.count_nonzero(sign < 0)),
                       int(np.count_nonzero(sign == 0)))


def step_bound(prep: PreparedPot, amax: int) -> int:
    """A bound on every running sum of the accumulator (module docstring, ``T``)."""
    return amax * prep.step_l1


def _stacked_acts(a: np.ndarray, amax: int, shifts: tuple[int, ...], trunc: Truncation,
                  dtype) -> np.ndarray:
    """``[cut(a * 2^s) for s in shifts]`` side by side, (M, G*K), exact in ``dtype``.

    FLOOR is an arithmetic right shift of the integer codes (int16 holds every a_bits <= 16
    code; NumPy defines shifts past the width as 0 / -1); TOWARD_ZERO is ``trunc`` of the
    exact float ``a * 2^s`` (a power-of-two scale of ``|a| <= 2^15``).
    """
    m, k = a.shape
    out = np.empty((m, len(shifts) * k), dtype=dtype)
    small = a.astype(np.int8 if amax < 128 else np.int16)
    if trunc is Truncation.FLOOR:           # every group in one broadcast shift
        right = np.array([-s for s in shifts], dtype=small.dtype)
        np.copyto(out.reshape(m, len(shifts), k), small[:, None, :] >> right[None, :, None],
                  casting="unsafe")
        return out
    af = small.astype(dtype)
    for g, s in enumerate(shifts):
        part = out[:, g * k:(g + 1) * k]
        np.multiply(af, dtype(2.0 ** s), out=part)
        np.trunc(part, out=part)
    return out


def exact_sum(prep: PreparedPot, a: np.ndarray, amax: int, absolute: bool = False) -> np.ndarray:
    """Exact int64 sum of every term per output (``absolute``: the sum of |terms|);
    ``amax`` is ``max|a|``."""
    bound = amax * prep.step_l1
    weights = prep.weights
    if absolute:   # |terms| one by one: |sign| stacked in the same groups, |activations|
        weights = _stack(np.abs(prep.sign), prep.dist, prep.shifts, weights.dtype)
    if bound >= 1 << 62:
        raise SimlowError(f"PoT sums could exceed int64 (bound {bound}); K or shifts too large")
    dtype = np.float32 if weights.dtype == np.float32 and bound <= F32_EXACT else np.float64
    w = weights.astype(dtype, copy=False)
    rows = max(1, _STACK_ELEMS // max(1, prep.groups * prep.k))
    out = np.empty((a.shape[0], w.shape[1]), dtype=np.int64)
    for r0 in range(0, a.shape[0], rows):
        acts = _stacked_acts(a[r0:r0 + rows], amax, prep.shifts, prep.unit.truncation, dtype)
        if absolute:
            np.abs(acts, out=acts)
        if bound <= F64_EXACT:
            out[r0:r0 + rows] = acts @ w
        else:                      # chunked over K in int64 by exact.int_matmul
            out[r0:r0 + rows] = int_matmul(acts.astype(np.int64), w.astype(np.int64))
    return out
