"""HQQ (Badri and Shaji, "Half-Quadratic Quantization of Large Machine Learning Models",
2023, https://mobiusml.github.io/hqq_blog/): calibration-free; the zero point of each group
of an asymmetric uniform grid is optimized for a sparsity-promoting ``l_p`` error (p < 1)
by half-quadratic splitting.

Layering: NumPy (float32, as the reference's solver); the result is a QTensor of the
``HqqInt`` format below (codes ``0..2**b-1``, float16 scale and *fractional* float16 zero
per group of ``group`` consecutive elements of a row).

Problem per group ``w``: ``min_z phi(w - Q^-1(Q(w)))`` with ``Q(w) = clip(round(w/s + z))``,
``Q^-1(q) = (q - z) s`` and ``phi = ||.||_p^p``, split with ``w_e`` as
``phi(w_e) + beta/2 ||w_e - (w - Q^-1(Q(w)))||^2`` and solved by alternating (reference
``optimize_weights_proximal``, defaults ``p = 0.7, beta = 10, kappa = 1.01, 20 iterations``):

1. ``q = clip(round(w/s + z), 0, 2**b - 1)``, ``w_r = (q - z) s``;
2. ``w_e = shrink_p(w - w_r, beta)`` with ``shrink_p(x) = sign(x) relu(|x| - |x|^(p-1)/beta)``
   (the generalized soft threshold, the exact minimizer for p = 1);
3. ``z = mean(q - (w - w_e)/s)`` over the group (the exact minimizer of the quadratic term);
4. ``beta *= kappa``.

The recorded objective after step 1 is the mean ``|w - w_r|`` over the tensor (the
reference's stopping error); the sweep stops at the first iteration that does not lower it,
and the zero of the best iteration is kept (``history`` lists every accepted error:
non-increasing by this rule, the first one is the min-max RTN start). The scale stays at
its min-max value ``(max - min) / (2**b - 1)``; zero and scale are then stored as float16
and the codes recomputed with the stored values.

Zero storage (``ZeroMode``): ``FRACTIONAL`` (default) is the HQQ library's storage
(mobiusml/hqq ``Quantizer.quantize``: the solver's zero is kept as a fractional float,
float16, or itself 8-bit quantized with ``quant_zero``; the library's ``round_zero`` option
rounds only the min-max *start* before the solver, which then moves it off the integers
again, so the library never stores an integer zero after ``optimize``). ``INTEGER`` is
simlow's option, not the library's: the zero is projected onto the integers at the start and
after every solver update (``z = round(mean(...))``, RNE), so weight 0 sits on the grid as in
RTN's asymmetric formats; the accepted-error rule is unchanged, so the result's mean
``|w - w_r|`` is at most that of min-max with the rounded zero (RTN's start).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from simlow.errors import SimlowError
from simlow.quant.qtensor import QTensor


@dataclass(frozen=True)
class HqqConfig:
    p: float = 0.7
    beta: float = 10.0
    kappa: float = 1.01
    iters: int = 20


class ZeroMode(enum.Enum):
    FRACTIONAL = "fractional"   # HQQ's storage: the solver's float zero, stored float16
    INTEGER = "integer"         # simlow's option: zero kept on the integers through the solve


@dataclass(frozen=True)
class HqqInt:
    """``bits``-bit affine grid per ``group`` elements with a float16 scale and zero (HQQ's
    storage; ``zero=INTEGER``: an integer zero, see the module doc)."""

    bits: int
    group: int
    storage: str | None = None
    zero: ZeroMode = ZeroMode.FRACTIONAL

    def __post_init__(self):
        if not 1 <= self.bits <= 8 or self.group < 1:
            raise SimlowError(f"hqq: bits must be 1..8 and group >= 1, got {self.bits}, {self.group}")

    @property
    def name(self) -> str:
        return f"hqq{self.bits}_g{self.group}" + ("_intzero" if self.zero is ZeroMode.INTEGER else "")

    @property
    def bits_per_weight(self) -> float:
        return self.bits + 32 / self.group

    def quantize(self, x) -> QTensor:
        return hqq(x, self)[0]

    def dequantize(self, q: QTensor) -> jnp.ndarray:
        codes = np.asarray(q.codes, np.float32).reshape(-1, self.group)
        s, z = np.asarray(q.scales, np.float32), np.asarray(q.aux["zero"], np.float32)
        return jnp.asarray(((codes - z) * s).reshape(q.shape))


def shrink(x: np.ndarray, beta: float, p: float) -> np.ndarray:
    ax = np.abs(x)
    with np.errstate(divide="ignore"):
        return np.sign(x) * np.maximum(ax - np.where(ax > 0, ax ** (p - 1), 0) / beta, 0)


def _groups(x, fmt: HqqInt) -> np.ndarray:
    w = np.asarray(x, np.float32)
    if w.ndim == 0 or w.shape[-1] % fmt.group:
        raise SimlowError(f"{fmt.name}: last axis {w.shape[-1:]} is not a multiple of the group size {fmt.group}")
    return w.reshape(-1, fmt.group)


def _minmax(w: np.ndarray, maxq: int):
    lo, hi = w.min(1, keepdims=True), w.max(1, keepdims=True)
    s = np.where(hi > lo, (hi - lo) / np.float32(maxq), np.float32(1))
    return s.astype(np.float32), (-lo / s).astype(np.float32)


def _codes(w, s, z, maxq):
    q = np.clip(np.rint(w / s + z), 0, maxq)
    return q, (q - z) * s


def solve(w: np.ndarray, s: np.ndarray, z: np.ndarray, maxq: int, cfg: HqqConfig, integer: bool = False):
    """The zero (G, 1) of the best iteration and the accepted errors (see the module doc);
    ``integer``: every zero rounded to an integer (RNE)."""
    step = np.rint if integer else (lambda v: v)
    z = step(z).astype(np.float32)
    beta, history, best = cfg.beta, [], z
    for _ in range(cfg.iters):
        q, w_r = _codes(w, s, z, maxq)
        error = float(np.abs(w - w_r).mean())
        if history and error >= history[-1]:
            break
        history.append(error)
        best = z
        w_e = shrink(w - w_r, beta, cfg.p)
        z = step(np.mean(q - (w - w_e) / s, axis=1, keepdims=True)).astype(np.float32)
        beta *= cfg.kappa
    return best, tuple(history)


def hqq(x, fmt: HqqInt, cfg: HqqConfig = HqqConfig()) -> tuple[QTensor, tuple[float, ...]]:
    """HQQ of ``x`` on ``fmt``: the QTensor and the accepted error history."""
    w = _groups(x, fmt)
    maxq = 2 ** fmt.bits - 1
    s, z0 = _minmax(w, maxq)
    z, history = solve(w, s, z0, maxq, cfg, fmt.zero is ZeroMode.INTEGER)
    s16, z16 = s.astype(np.float16), z.astype(np.float16)
    q, _ = _codes(w, s16.astype(np.float32), z16.astype(np.float32), maxq)
    shape = tuple(np.shape(x))
    return QTensor(jnp.asarray(q.astype(np.uint8).reshape(shape)), jnp.asarray(s16), fmt, shape,
                   {"zero": jnp.asarray(z16)}), history
