"""llama.cpp's CPU block dot products for the legacy GGUF types, in JAX, bit for bit.

Definitions (ggml ``ggml-cpu/quants.c`` generic reference code, ISO C semantics: every
float product rounded, no FMA contraction; the AVX2/NEON kernels reorder the float sums):

* activations of a Q4_0 / Q8_0 matrix are quantized to Q8_0, of a Q4_1 matrix to Q8_1
  (``vec_dot_type``). Q8_1 (``quantize_row_q8_1_ref``): per block of 32, ``d = amax/127``
  (float32), ``q = roundf(x / d)`` computed as ``x * (1/d)`` (the Q8_0 codes), stored ``d``
  float16 and ``s = fp16(sum(q) * d)`` with the float32 ``d``.
* ``vec_dot_q4_1_q8_1``: ``sumf += (dx*dy)*sumi + mx*sy`` per block, in block order, from
  ``sumf = 0``; ``sumi`` the exact integer dot of the 32 codes (q in 0..15 times int8).
* ``vec_dot_q4_0_q8_0`` / ``vec_dot_q8_0_q8_0``: ``sumf += sumi * (dx*dy)``.

``sumi`` is exact here: at most 32 * 15 * 127 (or 32 * 128 * 127) < 2**24, so the float32
einsum of integer codes has no rounding whatever the summation order. The float terms are
laundered (``simlow.quant._blocks.launder``) so XLA cannot contract them into FMAs, and
the block sum is an unrolled loop in block order.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simlow.quant import QTensor, quantize
from simlow.quant._blocks import launder
from simlow.quant._exact import true_div

QK = 32
N_CHUNK = 4096


def quantize_q8_1(x) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Q8_1 of ``x`` (M, K): codes int8 (M, K), d float16 (M, B), s float16 (M, B)."""
    x = jnp.asarray(x, jnp.float32)
    q = quantize(x, "q8_0")                              # the same d and codes as Q8_0
    blocks = x.reshape(x.shape[0], -1, QK)
    d32 = true_div(jnp.abs(blocks).max(-1), 127.0)
    total = q.codes.reshape(blocks.shape).astype(jnp.int32).sum(-1).astype(jnp.float32)
    s = _mul(total, d32).astype(jnp.float16)
    return q.codes, q.scales.reshape(d32.shape), s


@jax.jit
def _mul(a, b):
    return a * b


@partial(jax.jit, static_argnums=(6,))
def _block_dot(aq, ad, as_, wq, wd, wm, with_min: bool, zero):
    m, k = aq.shape
    n, nb = wq.shape[0], k // QK
    a = aq.reshape(m, nb, QK).astype(jnp.float32)
    w = wq.reshape(n, nb, QK).astype(jnp.float32)
    sumi = jnp.einsum("mbj,nbj->bmn", a, w)                     # exact integers
    dd = launder(wd.astype(jnp.float32).T[:, None, :] * ad.astype(jnp.float32).T[:, :, None], zero)
    if with_min:
        t = launder(dd * sumi, zero) + launder(
            wm.astype(jnp.float32).T[:, None, :] * as_.astype(jnp.float32).T[:, :, None], zero)
    else:
        t = launder(sumi * dd, zero)
    sumf = jnp.zeros((m, n), jnp.float32)
    for b in range(nb):
        sumf = sumf + t[b]
    return sumf


def block_dot(aq, ad, as_, w: QTensor) -> jax.Array:
    """``x @ W.T`` as llama.cpp's CPU reference computes it: activations as codes ``aq``
    (M, K), scales ``ad`` (M, B) and (for Q4_1) ``as_`` (M, B); ``w`` a Q4_0/Q4_1/Q8_0
    QTensor (N, K). Output float32 (M, N)."""
    with_min = "min" in w.aux
    wd = w.scales.reshape(w.shape[0], -1)
    wm = w.aux["min"].reshape(wd.shape) if with_min else wd
    as_ = as_ if as_ is not None else ad
    zero = jnp.uint32(0)
    outs = [_block_dot(aq, ad, as_, w.codes[i:i + N_CHUNK], wd[i:i + N_CHUNK], wm[i:i + N_CHUNK],
                       with_min, zero) for i in range(0, w.shape[0], N_CHUNK)]
    return outs[0] if len(outs) == 1 else jnp.concatenate(outs, axis=1)


def reference_block_dot(aq, ad, as_, wq, wd, wm) -> np.ndarray:
    """The same definition in plain NumPy, one block at a time (the test oracle)."""
    aq, wq = np.asarray(aq, np.int64), np.asarray(wq, np.int64)
    m, k = aq.shape
    n = wq.shape[0]
    out = np.zeros((m, n), np.float32)
    for b in range(k // QK):
        sl = slice(b * QK, (b + 1) * QK)
        sumi = (aq[:, None, sl] * wq[None, :, sl]).sum(-1).astype(np.float32)
        dd = np.asarray(wd, np.float32)[None, :, b] * np.asarray(ad, np.float32)[:, None, b]
        if wm is None:
            t = sumi * dd
        else:
            t = dd * sumi + np.asarray(wm, np.float32)[None, :, b] * np.asarray(as_, np.float32)[:, None, b]
        out = (out + t).astype(np.float32)
    return out
