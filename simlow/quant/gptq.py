"""GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative
Pre-trained Transformers", ICLR 2023, arXiv:2210.17323, Algorithm 1): weights rounded one
input column at a time, each column's rounding error spread over the columns not yet
rounded through the inverse Hessian of the layer's reconstruction loss.

Layering: NumPy (float64) solver; the grid is a ``simlow.quant.uniform.UniformInt``
(per-group or per-channel, symmetric or asymmetric), so the result is a QTensor of that
format and ``q.dequantize()`` reads it as any RTN tensor of the format.

Problem: ``W`` (N, K), calibration inputs ``X`` (T, K); minimize ``||X W^T - X Q^T||^2``
over ``Q`` on the grid. ``H = X^T X`` (``hessian``; any positive factor is immaterial).

Algorithm (``gptq``), as the paper's Algorithm 1 with its reference code's conventions:

1. Dead inputs (``H_jj == 0``) get ``H_jj = 1`` and ``W[:, j] = 0``.
2. Optional ``act_order`` (the reference code's ``--act-order``): columns in order of
   descending ``H_jj`` (stable sort); the group grids are then *static* (each group's
   scale/zero from the original weights, as AutoGPTQ's ``static_groups``) so that groups
   stay contiguous in the stored layout. Otherwise a group's grid is chosen from the
   current, already-updated weights when the sweep reaches the group's first column (the
   reference code reads them from the block-stale outer ``W``; the two agree when the group
   size is a multiple of ``block``, and group and block must divide one another here).
3. Dampening ``H += damp * mean(diag H) * I`` (``damp`` 0.01 as the paper).
4. ``U`` = upper Cholesky factor of ``H^-1`` (``H^-1 = U^T U``).
5. Lazy batch updates: for each block of ``block`` (128) columns, for column ``i`` in it:
   ``q_i = quant(w_i)``, ``e_i = (w_i - q_i) / U_ii``, ``w_j -= e_i U_ij`` for the block's
   later columns ``j``; after the block, ``W[:, later] -= E U[block, later]``.

Quantization of one column with its group's stored float16 scale ``s`` (and zero ``z``):
exactly ``UniformInt`` (IEEE float32 ``w / s``, round half to even, clip); with ``H = I``
the result equals RTN bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from simlow.errors import SimlowError
from simlow.numerics import Rounding
from simlow.quant.qtensor import QTensor
from simlow.quant.uniform import Granularity, UniformInt


@dataclass(frozen=True)
class GptqConfig:
    block: int = 128          # lazy-batch width (paper: 128)
    damp: float = 0.01        # fraction of mean(diag H) added to the diagonal (paper: 1%)
    act_order: bool = False   # columns by descending H_jj, static group grids

    def __post_init__(self):
        if self.block < 1 or not 0 <= self.damp < 1:
            raise SimlowError(f"gptq: block must be >= 1 and damp in [0, 1), got {self.block}, {self.damp}")


def hessian(x) -> np.ndarray:
    """``X^T X`` in float64 of calibration inputs ``x`` (T, K)."""
    x = np.asarray(x, np.float64).reshape(-1, np.shape(x)[-1])
    return x.T @ x


def group_size(fmt: UniformInt, k: int, block: int) -> int:
    if fmt.granularity is Granularity.TENSOR:
        raise SimlowError(f"gptq: {fmt.name} is per-tensor; GPTQ needs per-channel or per-group grids")
    if fmt.rounding is not Rounding.RNE:
        raise SimlowError(f"gptq: {fmt.name}: only round-half-even grids are supported")
    g = fmt.group or k
    if k % g:
        raise SimlowError(f"gptq: K {k} is not a multiple of the group size {g}")
    if (block % g if g < block else g % block):
        raise SimlowError(f"gptq: the group size {g} and the block {block} must divide one another")
    return g


def grid(fmt: UniformInt, w_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row float16 scale and zero (N, 1) of ``fmt`` for the columns ``w_group`` (N, g),
    chosen as RTN chooses them (``UniformInt.quantize`` of the group)."""
    per_row = UniformInt(fmt.bits, fmt.symmetric, Granularity.CHANNEL)
    q = per_row.quantize(np.asarray(w_group, np.float32))
    zero = q.aux["zero"] if "zero" in q.aux else np.zeros((w_group.shape[0], 1), np.uint8)
    return np.asarray(q.scales), np.asarray(zero)


def quant_column(fmt: UniformInt, w: np.ndarray, s16: np.ndarray, zero: np.ndarray):
    """Codes and dequantized float64 values of column ``w`` (N,) on the grid (N,) ``s16``, ``zero``."""
    s = s16.astype(np.float32)
    v = np.rint(w.astype(np.float32) / np.where(s == 0, np.float32(1), s))
    if fmt.symmetric:
        qmax = 2 ** (fmt.bits - 1) - 1
        code = np.where(s == 0, 0, np.clip(v, -qmax, qmax))
        centred = code
    else:
        z = zero.astype(np.float32)
        code = np.where(s == 0, z, np.clip(v + z, 0, 2 ** fmt.bits - 1))
        centred = code - z
    return code, (s * centred.astype(np.float32)).astype(np.float64)


def inverse_cholesky(h: np.ndarray, damp: float) -> np.ndarray:
    """Upper Cholesky factor ``U`` of ``(H + damp mean(diag H) I)^-1``."""
    h = h + damp * np.mean(np.diag(h)) * np.eye(h.shape[0])
    try:
        lower = np.linalg.cholesky(h)
        inv_l = np.linalg.solve(lower, np.eye(h.shape[0]))
        return np.linalg.cholesky(inv_l.T @ inv_l).T
    except np.linalg.LinAlgError:
        raise SimlowError("gptq: the dampened Hessian is not positive definite "
                          "(raise damp or give more calibration tokens)") from None


def _prepare(w, h, cfg: GptqConfig):
    w = np.array(w, np.float64)
    h = np.array(h, np.float64)
    if h.shape != (w.shape[1], w.shape[1]):
        raise SimlowError(f"gptq: Hessian {h.shape} does not match K {w.shape[1]}")
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    order = np.argsort(-np.diag(h), kind="stable") if cfg.act_order else np.arange(w.shape[1])
    return w, h, order


def gptq(w, h, fmt: UniformInt, cfg: GptqConfig = GptqConfig()) -> QTensor:
    """GPTQ of ``w`` (N, K) on the grid of ``fmt`` with Hessian ``h`` (K, K); see the module doc."""
    w, h, order = _prepare(w, h, cfg)
    n, k = w.shape
    g = group_size(fmt, k, cfg.block)
    scales = np.zeros((n, k // g), np.float16)
    zeros = np.zeros((n, k // g), np.uint8)
    if cfg.act_order:
        for j in range(k // g):
            scales[:, j:j + 1], zeros[:, j:j + 1] = grid(fmt, w[:, j * g:(j + 1) * g])
    w, u = w[:, order], inverse_cholesky(h[np.ix_(order, order)], cfg.damp)
    codes = np.zeros((n, k), np.int16)
    for i1 in range(0, k, cfg.block):
        i2 = min(i1 + cfg.block, k)
        w1, err = w[:, i1:i2].copy(), np.zeros((n, i2 - i1))
        for i in range(i2 - i1):
            col = order[i1 + i]
            if not cfg.act_order and col % g == 0:     # the group's current (updated) weights
                current = w1[:, i:i + g] if g <= i2 - i1 - i else w[:, i1 + i:i1 + i + g]
                scales[:, col // g:col // g + 1], zeros[:, col // g:col // g + 1] = grid(fmt, current)
            code, deq = quant_column(fmt, w1[:, i], scales[:, col // g], zeros[:, col // g])
            codes[:, col] = code
            err[:, i] = (w1[:, i] - deq) / u[i1 + i, i1 + i]
            w1[:, i:] -= np.outer(err[:, i], u[i1 + i, i1 + i:i2])
        w[:, i2:] -= err @ u[i1:i2, i2:]
    return _qtensor(fmt, codes, scales, zeros)


def _qtensor(fmt: UniformInt, codes, scales, zeros) -> QTensor:
    """The QTensor ``UniformInt.quantize`` would build: one scale (and zero) per row group,
    rows of groups in row-major order (N * K / g, 1)."""
    aux = {} if fmt.symmetric else {"zero": jnp.asarray(zeros.reshape(-1, 1))}
    dtype = np.int8 if fmt.symmetric else np.uint8
    return QTensor(jnp.asarray(codes.astype(dtype)), jnp.asarray(scales.reshape(-1, 1)), fmt, codes.shape, aux)
