"""llama.cpp's CPU block dot products for the legacy GGUF types, in JAX, bit for bit.

Definitions (ggml ``ggml-cpu/quants.c`` generic reference code, ISO C semantics: every
float product rounded, no FMA contraction; the AVX2/NEON kernels reorder the float sums):

* activations of a Q4_0 / Q8_0 matrix are quantized to Q8_0, of a Q4_1 matrix to Q8_1
  (``vec_dot_type``). Q8_1 (``quantize_row_q8_1_ref``): per block of 32, ``d = amax/127``
  (float32), ``q = roundf(x / d)`` computed as ``x * (1/d)`` (the Q8_0 codes), stored ``d``
  float16 and ``s = fp16(sum(q) * d)`` with the float32 ``d``.
* ``vec_dot_q4_1_q8_1``: ``sumf += (dx*dy)*sumi + mx*sy`` per block, in block order, from
  ``sumf = 0``; ``sumi`` the exact integer dot of the 32 codes (q in 0..15 times int8).
* ``vec_dot_q4_0_q8_0``: ``sumf += sumi*dx*dy``, i.e. ``(sumi*dx)*dy`` (C's left-to-right
  ``*``; two roundings once ``|sumi|`` passes ~2**13, so it differs from ``sumi*(dx*dy)``).
* ``vec_dot_q8_0_q8_0``: ``sumf += sumi*(dx*dy)`` (the parentheses are in the C).
* ``sumf`` starts as +0.0 and every block adds to it, so an all-zero sum is +0.0, never -0.0.

Checked bit for bit against output of ggml's own C functions (tests/lm/test_ggml_recorded.py,
tests/vectors/ggml_recorded_vectors.npz).

``sumi`` is exact here: at most 32 * 15 * 127 (or 32 * 128 * 127) < 2**24, so the float32
einsum of integer codes has no rounding whatever the summation order. The float terms are
laundered (``simlow.quant._blocks.launder``) so XLA cannot contract them into FMAs nor fold
``0 + t`` to ``t`` (which turns +0.0 into -0.0), and the block sum is an unrolled loop in
block order.
"""

from __future__ import annotations

from enum import Enum
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simlow.quant import QTensor, quantize
from simlow.quant._blocks import launder
from simlow.quant._exact import true_div

QK = 32
N_CHUNK = 4096


class Order(Enum):
    """How a block's float term is formed from ``sumi`` and the scales, per weight type."""

    MIN = "q4_1"            # (dx*dy)*sumi + mx*sy
    SUM_FIRST = "q4_0"      # (sumi*dx)*dy
    SCALES_FIRST = "q8_0"   # sumi*(dx*dy)


def order_of(fmt_name: str) -> Order:
    """The Order of weight format ``fmt_name`` (q4_0, q4_1 or q8_0)."""
    return Order(fmt_name)


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
def _block_dot(aq, ad, as_, wq, wd, wm, order: Order, zero):
    m, k = aq.shape
    n, nb = wq.shape[0], k // QK
    a = aq.reshape(m, nb, QK).astype(jnp.float32)
    w = wq.reshape(n, nb, QK).astype(jnp.float32)
    sumi = jnp.einsum("mbj,nbj->bmn", a, w)                     # exact integers
    dx = wd.astype(jnp.float32).T[:, None, :]                   # (b, 1, n)
    dy = ad.astype(jnp.float32).T[:, :, None]                   # (b, m, 1)
    if order is Order.SUM_FIRST:
        t = launder(launder(sumi * dx, zero) * dy, zero)
    else:
        dd = launder(dx * dy, zero)
        t = launder(dd * sumi, zero)
        if order is Order.MIN:
            t = t + launder(wm.astype(jnp.float32).T[:, None, :] * as_.astype(jnp.float32).T[:, :, None], zero)
    sumf = launder(jnp.zeros((m, n), jnp.float32), zero)       # +0.0 XLA cannot fold away
    for b in range(nb):
        sumf = sumf + t[b]
    return sumf


def block_dot(aq, ad, as_, w: QTensor) -> jax.Array:
    """``x @ W.T`` as llama.cpp's CPU reference computes it: activations as codes ``aq``
    (M, K), scales ``ad`` (M, B) and (for Q4_1) ``as_`` (M, B); ``w`` a Q4_0/Q4_1/Q8_0
    QTensor (N, K). Output float32 (M, N)."""
    order = order_of(w.format.name)
    wd = w.scales.reshape(w.shape[0], -1)
    wm = w.aux["min"].reshape(wd.shape) if order is Order.MIN else wd
    as_ = as_ if as_ is not None else ad
    zero = jnp.uint32(0)
    outs = [_block_dot(aq, ad, as_, w.codes[i:i + N_CHUNK], wd[i:i + N_CHUNK], wm[i:i + N_CHUNK],
                       order, zero) for i in range(0, w.shape[0], N_CHUNK)]
    return outs[0] if len(outs) == 1 else jnp.concatenate(outs, axis=1)


def reference_block_dot(aq, ad, as_, wq, wd, wm, fmt: str) -> np.ndarray:
    """The same definition in plain NumPy, one block at a time (the test oracle); ``fmt`` the
    weight format (q4_0, q4_1 or q8_0), ``wm`` its block minima (Q4_1) or None."""
    order = order_of(fmt)
    aq, wq = np.asarray(aq, np.int64), np.asarray(wq, np.int64)
    m, k = aq.shape
    out = np.zeros((m, wq.shape[0]), np.float32)
    for b in range(k // QK):
        sl = slice(b * QK, (b + 1) * QK)
        sumi = (aq[:, None, sl] * wq[None, :, sl]).sum(-1).astype(np.float32)
        dx = np.asarray(wd, np.float32)[None, :, b]
        dy = np.asarray(ad, np.float32)[:, None, b]
        with np.errstate(invalid="ignore", over="ignore"):      # inf scales give inf / NaN, as in C
            if order is Order.SUM_FIRST:
                t = (sumi * dx) * dy
            elif order is Order.SCALES_FIRST:
                t = sumi * (dx * dy)
            else:
                t = (dx * dy) * sumi + np.asarray(wm, np.float32)[None, :, b] * np.asarray(as_, np.float32)[:, None, b]
            out = (out + t).astype(np.float32)
    return out
