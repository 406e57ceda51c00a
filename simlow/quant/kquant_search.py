"""How llama.cpp's reference quantizer chooses K-quant scales (no importance matrix).

Layering: NumPy only; used by ``kquants`` (which packs nothing itself: ``quantize_*`` here
return the GGUF bytes, read back by ``kquants.from_bytes``).

The searches of ggml's ``ggml-quants.c`` (``quantize_row_q{2,3,4,5,6}_K_ref``, what
``llama-quantize`` runs for these types without ``--imatrix``), re-implemented vectorized
over sub-blocks. Every value is float32 with one rounding per C operator, in the C
evaluation order (``w*x*l`` is ``(w*x)*l``), no fused multiply-add, and every sum is
accumulated element by element from 0 in index order, as the C loops do; so the bytes equal
the C reference's (tests/quant/test_kquant_quantize.py, against recorded llama.cpp output).

* ``nearest_int(v)``: ggml's ``v + 12582912`` trick: round half to even for ``|v| < 2**22``.
* ``qkx2`` (``make_qkx2_quants``; Q2_K, Q4_K, Q5_K): asymmetric ``scale*L - min`` with
  ``min <= 0`` taken into the range; weighted least squares (or absolute error) over
  ``nstep + 1`` trial inverse scales ``(rmin + rdelta*i + nmax) / (max - min)``; a trial
  is kept when its weighted error is strictly smaller; later trials use the kept min.
* ``qx`` (``make_qx_quants``, rmse_type 1, weights ``x**2``; Q6_K): symmetric, starts at
  ``-nmax / max`` (``max`` the signed value of largest magnitude, first one on ties), then
  19 trial scales ``-(nmax + 0.1*i) / max``, kept when ``sumlx**2 / suml2`` grows.
* ``q3`` (``make_q3_quants``; Q3_K): the same start, then up to 5 passes of coordinate
  descent, one element at a time in index order.

The super-block scales are then quantized (6-bit, or 4-bit for Q2_K, int8 for Q6_K) and
every element is re-quantized against the stored (float16-rounded) scales.
"""

from __future__ import annotations

import numpy as np

F = np.float32
GROUP_MAX_EPS = F(1e-15)
QK_K = 256


def nearest_int(v: np.ndarray) -> np.ndarray:
    val = (np.asarray(v, F) + F(12582912.0)).view(np.int32)
    return (val & 0x007FFFFF) - 0x00400000


def ordered_sum(terms, start=None) -> np.ndarray:
    """Sum over the last axis, element by element in order from ``start`` (default 0), float32."""
    acc = np.zeros(terms.shape[:-1], F) if start is None else start
    for i in range(terms.shape[-1]):
        acc = acc + terms[..., i]
    return acc


def signed_max(x):
    """The value of largest magnitude per row (the first on ties), and that magnitude."""
    mx, amax = np.zeros(x.shape[0], F), np.zeros(x.shape[0], F)
    for i in range(x.shape[1]):
        ax = np.abs(x[:, i])
        take = ax > amax
        amax, mx = np.where(take, ax, amax), np.where(take, x[:, i], mx)
    return mx, amax


def qkx2(x, w, nmax: int, rmin: float, rdelta: float, nstep: int, use_mad: bool):
    """``make_qkx2_quants`` per row of ``x`` (B, n) with weights ``w``: (L, scale, the_min)."""
    mn, mx = x[:, 0].copy(), x[:, 0].copy()
    for i in range(1, x.shape[1]):
        mn, mx = np.where(x[:, i] < mn, x[:, i], mn), np.where(x[:, i] > mx, x[:, i], mx)
    sum_w = ordered_sum(w[:, 1:], w[:, 0])            # C: starts at weights[0], then adds
    sum_x = ordered_sum(w[:, 1:] * x[:, 1:], w[:, 0] * x[:, 0])
    mn = np.where(mn > 0, F(0), mn)
    mn0 = mn
    flat = mx == mn
    col = lambda v: v[:, None]
    iscale = F(nmax) / (mx - mn)
    scale = F(1) / iscale
    L = np.clip(nearest_int(col(iscale) * (x - col(mn))), 0, nmax)
    best = _error(col(scale) * L.astype(F) + col(mn) - x, w, use_mad)
    for step in range(nstep + 1):
        iscale = (F(rmin) + F(rdelta) * F(step) + F(nmax)) / (mx - mn)
        laux = np.clip(nearest_int(col(iscale) * (x - col(mn))), 0, nmax)
        lf = laux.astype(F)
        sum_l, sum_l2, sum_xl = ordered_sum(w * lf), ordered_sum((w * lf) * lf), ordered_sum((w * lf) * x)
        D = sum_w * sum_l2 - sum_l * sum_l
        this_scale = (sum_w * sum_xl - sum_x * sum_l) / D
        this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D
        pos = this_min > 0
        this_min = np.where(pos, F(0), this_min)
        this_scale = np.where(pos, sum_xl / sum_l2, this_scale)
        err = _error(col(this_scale) * lf + col(this_min) - x, w, use_mad)
        keep = (D > 0) & (err < best)
        L = np.where(col(keep), laux, L)
        best, scale, mn = np.where(keep, err, best), np.where(keep, this_scale, scale), np.where(keep, this_min, mn)
    L = np.where(col(flat), 0, L)
    return L, np.where(flat, F(0), scale), np.where(flat, -mn0, -mn)


def _error(diff, w, use_mad: bool):
    return ordered_sum(w * (np.abs(diff) if use_mad else diff * diff))


def qx(x, nmax: int):
    """``make_qx_quants(n, nmax, x, L, 1, NULL)`` per row: (L offset by nmax, scale)."""
    mx, amax = signed_max(x)
    zero = amax < GROUP_MAX_EPS
    w = x * x
    col = lambda v: v[:, None]

    def trial(iscale):
        l = np.clip(nearest_int(col(iscale) * x), -nmax, nmax - 1)
        lf = l.astype(F)
        return l, ordered_sum((w * x) * lf), ordered_sum((w * lf) * lf)

    l, sumlx, suml2 = trial(F(-nmax) / mx)
    scale = np.where(suml2 != 0, sumlx / suml2, F(0))
    best = scale * sumlx
    for step in [s for s in range(-9, 10) if s != 0]:
        lt, slx, sl2 = trial(-(F(nmax) + F(0.1) * F(step)) / mx)
        keep = (sl2 > 0) & (slx * slx > best * sl2)
        l = np.where(col(keep), lt, l)
        scale = np.where(keep, slx / sl2, scale)
        best = np.where(keep, scale * slx, best)
    return np.where(col(zero), 0, l + nmax), np.where(zero, F(0), scale)


def q3(x, nmax: int):
    """``make_q3_quants(n, nmax, x, L, true)`` per row: (L offset by nmax, scale)."""
    mx, amax = signed_max(x)
    zero = amax < GROUP_MAX_EPS
    w = x * x
    L = np.clip(nearest_int((F(-nmax) / mx)[:, None] * x), -nmax, nmax - 1)
    sumlx, suml2 = ordered_sum((w * x) * L.astype(F)), ordered_sum((w * L.astype(F)) * L.astype(F))
    for _ in range(5):
        changed = False
        for i in range(x.shape[1]):
            wi, xi, li = w[:, i], x[:, i], L[:, i].astype(F)
            slx = sumlx - (wi * xi) * li
            sl2 = suml2 - (wi * li) * li
            new = np.clip(nearest_int((xi * sl2) / slx), -nmax, nmax - 1)
            nf = new.astype(F)
            slx2, sl22 = slx + (wi * xi) * nf, sl2 + (wi * nf) * nf
            take = (slx > 0) & (new != L[:, i]) & (sl22 > 0) & ((slx2 * slx2) * suml2 > (sumlx * sumlx) * sl22)
            L[:, i] = np.where(take, new, L[:, i])
            sumlx, suml2 = np.where(take, slx2, sumlx), np.where(take, sl22, suml2)
            changed = changed or bool(take.any())
        if not changed:
            break
    scale = np.where(suml2 > 0, sumlx / suml2, F(0))
    return np.where(zero[:, None], 0, L + nmax), np.where(zero, F(0), scale)
