"""AWQ (Lin et al., "AWQ: Activation-aware Weight Quantization for LLM Compression and
Acceleration", MLSys 2024, arXiv:2306.00978, section 3.2): scale each input channel of the
weights up by ``s_j`` before round-to-nearest, and the activation down by the same factor,
with ``s`` searched on calibration activations.

Layering: NumPy (float64) search; the grid is any simlow format (``UniformInt`` per group
in the shipped designs), so the result holds a QTensor of ``W diag(s)`` in that format.

Search (``awq_search``), as the paper's eq. 5 with the reference code's conventions:
``s = mean|x|^alpha`` per input channel (``mean_abs``, over the calibration tokens), clamped
below at 1e-4 and normalized by ``sqrt(max s * min s)``; ``alpha`` over the grid
``0, 1/n, ..., (n-1)/n`` (``n_grid`` 20); the loss of ``alpha`` is the summed output error
of every matrix that shares the input (q/k/v, or gate/up), ``sum_i ||X W_i^T - (X/s) Q(W_i s)^T||^2
= sum_i tr(D_i H D_i^T)`` with ``D_i = W_i - Q(W_i s)/s`` and ``H = X^T X``. The chosen
``alpha`` is the first argmin. ``alpha = 0`` is RTN, so the loss never exceeds RTN's.
Not done: the reference code's second step (clipping search of the weight range).

The effective weight ``Q(W s) / s`` (``effective``) is what a float datapath computes with:
``x Q(Ws)^T / s`` folds ``1/s`` into the activation (the previous RMSNorm in a deployment).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlow.errors import SimlowError
from simlow.quant.qtensor import QTensor

N_GRID = 20
MIN_SCALE = 1e-4


@dataclass(frozen=True)
class AwqResult:
    qtensors: tuple[QTensor, ...]      # Q(W_i diag s), one per matrix sharing the input
    scales: np.ndarray                 # s (K,) float32
    alpha: float
    losses: tuple[float, ...]          # loss of every alpha of the grid, in grid order

    def effective(self, i: int = 0) -> np.ndarray:
        """``Q(W_i s) / s`` as float32 (N, K)."""
        return (np.asarray(self.qtensors[i].dequantize(), np.float32) / self.scales[None, :]).astype(np.float32)


def grid(n_grid: int = N_GRID) -> tuple[float, ...]:
    return tuple(i / n_grid for i in range(n_grid))


def channel_scales(mean_abs: np.ndarray, alpha: float) -> np.ndarray:
    s = np.maximum(np.asarray(mean_abs, np.float64) ** alpha, MIN_SCALE)
    return (s / np.sqrt(s.max() * s.min())).astype(np.float32)


def output_loss(w: np.ndarray, w_eff: np.ndarray, h: np.ndarray) -> float:
    d = np.asarray(w, np.float64) - np.asarray(w_eff, np.float64)
    return float(np.sum((d @ h) * d))


def _scaled(ws, fmt, s):
    qs = tuple(fmt.quantize((np.asarray(w, np.float32) * s[None, :]).astype(np.float32)) for w in ws)
    return qs, [np.asarray(q.dequantize(), np.float32) / s[None, :] for q in qs]


def awq_search(ws, h, mean_abs, fmt, n_grid: int = N_GRID) -> AwqResult:
    """AWQ of the matrices ``ws`` (each (N_i, K), sharing one input) with ``H = X^T X`` (K, K)
    and ``mean_abs`` = mean |x| per input channel (K,); see the module docstring."""
    k = np.shape(mean_abs)[0]
    if any(np.shape(w)[1] != k for w in ws) or np.shape(h) != (k, k):
        raise SimlowError(f"awq: every matrix needs K = {k} inputs and H ({k}, {k})")
    h = np.asarray(h, np.float64)
    best, losses = None, []
    for alpha in grid(n_grid):
        s = channel_scales(mean_abs, alpha)
        qs, eff = _scaled(ws, fmt, s)
        loss = sum(output_loss(w, e, h) for w, e in zip(ws, eff))
        losses.append(loss)
        if best is None or loss < best[0]:
            best = (loss, alpha, s, qs)
    _, alpha, s, qs = best
    return AwqResult(qs, s, alpha, tuple(losses))
