"""llama.cpp's reference K-quant quantizers (``quantize_row_q*_K_ref``): float32 super-blocks
(nb, 256) to GGUF block bytes (nb, type_size), the scales chosen by ``kquant_search``.

Layering: uses ``kquant_search``; used by ``kquants``. Byte layouts as ``kquants`` reads them.

Per super-block, after the sub-block search: the sub-block scales (and mins) are quantized
against the largest one (``nearest_int``, C integer conversions emulated: to ``uint8`` by
``& 0xFF``, to ``int8`` by wrapping), the super-block scale is stored as float16 (round to
nearest even), and every element is re-quantized with the stored scales
(``nearest_int((x + dm) / d)`` or ``nearest_int(x / d)``, clamped); a sub-block whose stored
scale is 0 keeps the codes of its search.
"""

from __future__ import annotations

import numpy as np

from simlow.quant.kquant_search import F, GROUP_MAX_EPS, nearest_int, ordered_sum, q3, qkx2, qx, signed_max

def _f16(v) -> tuple[np.ndarray, np.ndarray]:
    """float32 -> (float16 bytes (nb, 2), the float16 value back in float32)."""
    h = np.asarray(v, F).astype(np.float16)
    return h.view(np.uint8).reshape(-1, 2), h.astype(F)


def _first_max(v):
    """Per row, the largest value (strictly greater than 0 to count; 0 otherwise)."""
    out = np.zeros(v.shape[0], F)
    for j in range(v.shape[1]):
        out = np.where(v[:, j] > out, v[:, j], out)
    return out


def _pack2(L):
    """2-bit codes (nb, 256) -> qs (nb, 64): byte j/4+l of half j holds L[j+l+32*s] << 2s."""
    L = L.astype(np.uint8).reshape(-1, 2, 4, 32)
    return (L[:, :, 0] | (L[:, :, 1] << 2) | (L[:, :, 2] << 4) | (L[:, :, 3] << 6)).reshape(-1, 64)


def _requant(x, d, dm, lo: int, hi: int, L):
    """Codes against stored per-sub-block scales ``d`` (nb, S) (and mins ``dm``); rows with d = 0 keep L."""
    nb, subs = d.shape
    xs = x.reshape(nb, subs, -1)
    v = (xs + dm[..., None]) / d[..., None] if dm is not None else xs / d[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        new = np.clip(nearest_int(v), lo, hi)
    return np.where((d != 0)[..., None], new, L.reshape(nb, subs, -1)).reshape(nb, -1)


def _asym_subblocks(x, sub: int, nmax: int, rmin: float, rdelta: float, nstep: int, mad: bool, weights):
    nb = x.shape[0]
    xs = x.reshape(-1, sub)
    L, scales, mins = qkx2(xs, weights(xs), nmax, rmin, rdelta, nstep, mad)
    return L.reshape(nb, -1), scales.reshape(nb, -1), mins.reshape(nb, -1)


def q2_k(x: np.ndarray) -> np.ndarray:
    L, scales, mins = _asym_subblocks(x, 16, 3, -0.5, 0.1, 15, True, np.abs)
    max_scale, max_min = _first_max(scales), _first_max(mins)
    ls = np.where((max_scale > 0)[:, None], nearest_int((F(15) / max_scale)[:, None] * scales) & 0xFF, 0)
    lm = np.where((max_min > 0)[:, None], (nearest_int((F(15) / max_min)[:, None] * mins) << 4) & 0xFF, 0)
    sc = (ls | lm).astype(np.uint8)
    db, d = _f16(np.where(max_scale > 0, max_scale / F(15), F(0)))
    mb, m = _f16(np.where(max_min > 0, max_min / F(15), F(0)))
    L = _requant(x, d[:, None] * (sc & 0xF).astype(F), m[:, None] * (sc >> 4).astype(F), 0, 3, L)
    return np.concatenate([sc, _pack2(L), db, mb], axis=1)


def q3_k(x: np.ndarray) -> np.ndarray:
    nb = x.shape[0]
    L, scales = q3(x.reshape(-1, 16), 4)
    L, scales = L.reshape(nb, -1), scales.reshape(nb, -1)
    max_scale, _ = signed_max(scales)
    has = max_scale != 0
    iscale = F(-32) / np.where(has, max_scale, F(1))
    l = np.clip(nearest_int(iscale[:, None] * scales).astype(np.int8), -32, 31).astype(np.int64) + 32
    l = np.where(has[:, None], l, 32)
    packed = np.zeros((nb, 12), np.int64)
    packed[:, :8] = (l[:, :8] & 0xF) | ((l[:, 8:] & 0xF) << 4)
    hi = l >> 4
    for j in range(16):
        packed[:, 8 + j % 4] |= np.where(has, hi[:, j] << (2 * (j // 4)), 0)
    packed[:, :8] = np.where(has[:, None], packed[:, :8], 0)
    db, d = _f16(np.where(has, F(1) / iscale, F(0)))
    sc = (l - 32).astype(F)
    L = _requant(x, d[:, None] * np.where(has[:, None], sc, F(0)), None, -4, 3, L - 4) + 4
    high = L > 3
    hmask = np.zeros((nb, 32), np.uint8)
    for bit in range(8):
        hmask |= (high[:, bit * 32:(bit + 1) * 32].astype(np.uint8) << bit)
    return np.concatenate([hmask, _pack2(np.where(high, L - 4, L)), packed.astype(np.uint8), db], axis=1)


def _q45_scales(x, nmax: int, rmin: float, nstep: int):
    """The Q4_K/Q5_K search and 6-bit scale packing: (L, scales bytes (nb, 12), d, dmin, dbytes)."""
    def weights(xs):
        av = np.sqrt(ordered_sum(xs * xs) / F(32))
        return av[:, None] + np.abs(xs)

    L, scales, mins = _asym_subblocks(x, 32, nmax, rmin, 0.1, nstep, False, weights)
    max_scale, max_min = _first_max(scales), _first_max(mins)
    inv_s = np.where(max_scale > 0, F(63) / np.where(max_scale > 0, max_scale, F(1)), F(0))
    inv_m = np.where(max_min > 0, F(63) / np.where(max_min > 0, max_min, F(1)), F(0))
    ls = np.minimum(nearest_int(inv_s[:, None] * scales) & 0xFF, 63)
    lm = np.minimum(nearest_int(inv_m[:, None] * mins) & 0xFF, 63)
    packed = np.zeros((x.shape[0], 12), np.int64)
    packed[:, 0:4], packed[:, 4:8] = ls[:, :4], lm[:, :4]
    packed[:, 8:12] = (ls[:, 4:] & 0xF) | ((lm[:, 4:] & 0xF) << 4)
    packed[:, 0:4] |= (ls[:, 4:] >> 4) << 6
    packed[:, 4:8] |= (lm[:, 4:] >> 4) << 6
    db, d = _f16(max_scale / F(63))
    mb, m = _f16(max_min / F(63))
    L = _requant(x, d[:, None] * ls.astype(F), m[:, None] * lm.astype(F), 0, nmax, L)
    return L, packed.astype(np.uint8), np.concatenate([db, mb], axis=1)


def q4_k(x: np.ndarray) -> np.ndarray:
    L, sc, dd = _q45_scales(x, 15, -1.0, 20)
    L = L.astype(np.uint8).reshape(-1, 4, 2, 32)
    return np.concatenate([dd, sc, (L[:, :, 0] | (L[:, :, 1] << 4)).reshape(-1, 128)], axis=1)


def q5_k(x: np.ndarray) -> np.ndarray:
    L, sc, dd = _q45_scales(x, 31, -0.5, 15)
    L = L.astype(np.uint8).reshape(-1, 4, 2, 32)
    hi = L >> 4
    qh = np.zeros((L.shape[0], 32), np.uint8)
    for n in range(4):
        qh |= (hi[:, n, 0] << (2 * n)) | (hi[:, n, 1] << (2 * n + 1))
    low = L & 0xF
    return np.concatenate([dd, sc, qh, (low[:, :, 0] | (low[:, :, 1] << 4)).reshape(-1, 128)], axis=1)


def q6_k(x: np.ndarray) -> np.ndarray:
    nb = x.shape[0]
    L, scales = qx(x.reshape(-1, 16), 32)
    L, scales = L.reshape(nb, -1), scales.reshape(nb, -1)
    max_scale, absmax = signed_max(scales)
    zero = absmax < GROUP_MAX_EPS
    iscale = F(-128) / np.where(zero, F(1), max_scale)
    db, d = _f16(np.where(zero, F(0), F(1) / iscale))
    sc = np.minimum(nearest_int(iscale[:, None] * scales), 127).astype(np.int8)
    sc = np.where(zero[:, None], np.int8(0), sc)
    L = _requant(x, d[:, None] * sc.astype(F), None, -32, 31, L - 32) + 32
    L = np.where(zero[:, None], 0, L).astype(np.uint8).reshape(nb, 2, 4, 32)
    low, hi = L & 0xF, L >> 4
    ql = np.concatenate([low[:, :, 0] | (low[:, :, 2] << 4), low[:, :, 1] | (low[:, :, 3] << 4)], axis=2)
    qh = hi[:, :, 0] | (hi[:, :, 1] << 2) | (hi[:, :, 2] << 4) | (hi[:, :, 3] << 6)
    return np.concatenate([ql.reshape(nb, 128), qh.reshape(nb, 64), sc.view(np.uint8), db], axis=1)


QUANTIZERS = {"q2_k": q2_k, "q3_k": q3_k, "q4_k": q4_k, "q5_k": q5_k, "q6_k": q6_k}
