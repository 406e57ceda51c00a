"""MoE routing: how many distinct experts a batch of tokens touches.

Each token picks ``top_k`` of ``experts`` experts. A routing distribution gives every
expert's *inclusion probability* ``pi_e`` (the chance one token's top-k contains expert e;
``sum(pi) == top_k``). Tokens are taken as independent, so ``T`` tokens touch

    E[distinct] = sum_e 1 - (1 - pi_e) ** T

experts: ``top_k`` for one token, rising toward ``experts`` as the batch grows (a decode
batch of 8 on a 128-expert top-8 model touches ~50 experts, not 8). Independence is an
assumption; real routers correlate neighbouring tokens (fewer distinct experts), which a
recorded ``Trace`` captures only through its marginal frequencies.

Distributions:

* ``Uniform()``: ``pi_e = k / E`` (what a load-balanced router aims for).
* ``Zipf(s)``: expert of rank r has weight ``r ** -s``; ``pi = min(1, k * w)`` with the
  excess of capped experts spread over the rest until ``sum(pi) == k``. ``s = 0`` is uniform.
* ``Trace(counts)``: measured selection counts per expert (from a recorded routing trace,
  pooled over layers); ``pi_e = k * counts_e / sum(counts)``.

All ``distinct`` methods accept NumPy arrays of token counts (vectorized sweeps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlow.errors import SimlowError


def _check(experts: int, top_k: int) -> None:
    if experts < 1 or not 1 <= top_k <= experts:
        raise SimlowError(f"routing needs 1 <= top_k <= experts, got top_k={top_k}, experts={experts}")


def _distinct(pi: np.ndarray, tokens) -> np.ndarray:
    t = np.asarray(tokens, dtype=np.float64)
    miss = np.clip(1.0 - pi, 0.0, 1.0)
    # sum over experts of 1 - miss**T, broadcast over the shape of ``tokens``
    return np.sum(1.0 - miss[(...,) + (None,) * t.ndim] ** t, axis=0) if t.ndim else float(np.sum(1.0 - miss ** t))


def _capped(weights: np.ndarray, top_k: int) -> np.ndarray:
    """Inclusion probabilities ``min(1, c * w)`` with ``c`` chosen so they sum to ``top_k``."""
    w = weights / weights.sum()
    pi = np.zeros_like(w)
    free = np.ones(w.shape, dtype=bool)
    for _ in range(len(w)):
        room = top_k - pi[~free].sum()
        trial = room * w[free] / w[free].sum()
        over = trial > 1.0
        if not over.any():
            pi[free] = trial
            return pi
        idx = np.flatnonzero(free)[over]
        pi[idx] = 1.0
        free[idx] = False
    return pi


@dataclass(frozen=True)
class Uniform:
    """Every expert equally likely (a perfectly load-balanced router)."""

    def inclusion(self, experts: int, top_k: int) -> np.ndarray:
        _check(experts, top_k)
        return np.full(experts, top_k / experts)

    def distinct(self, tokens, experts: int, top_k: int):
        _check(experts, top_k)
        t = np.asarray(tokens, dtype=np.float64)
        out = experts * (1.0 - (1.0 - top_k / experts) ** t)
        return float(out) if t.ndim == 0 else out


@dataclass(frozen=True)
class Zipf:
    """Skewed routing: the expert of popularity rank r has weight ``r ** -s``."""

    s: float = 1.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.s) or self.s < 0:
            raise SimlowError(f"Zipf exponent must be a finite number >= 0, got {self.s}")

    def inclusion(self, experts: int, top_k: int) -> np.ndarray:
        _check(experts, top_k)
        return _capped(np.arange(1, experts + 1, dtype=np.float64) ** -self.s, top_k)

    def distinct(self, tokens, experts: int, top_k: int):
        return _distinct(self.inclusion(experts, top_k), tokens)


@dataclass(frozen=True)
class Trace:
    """Measured selection counts per expert (index = expert id), from a routing trace."""

    counts: tuple[int, ...]

    @classmethod
    def from_ids(cls, ids, experts: int) -> "Trace":
        """From recorded expert ids (any shape, e.g. tokens x top_k)."""
        a = np.asarray(ids).ravel()
        if a.size == 0 or a.min() < 0 or a.max() >= experts:
            raise SimlowError(f"a routing trace needs expert ids in [0, {experts}), got {a.size} ids")
        return cls(tuple(int(c) for c in np.bincount(a, minlength=experts)))

    def inclusion(self, experts: int, top_k: int) -> np.ndarray:
        _check(experts, top_k)
        if len(self.counts) != experts:
            raise SimlowError(f"routing trace has {len(self.counts)} experts, the model has {experts}")
        c = np.asarray(self.counts, dtype=np.float64)
        if c.sum() <= 0:
            raise SimlowError("routing trace has no selections")
        return _capped(c + 0.0, top_k) if (top_k * c / c.sum()).max() > 1 else top_k * c / c.sum()

    def distinct(self, tokens, experts: int, top_k: int):
        return _distinct(self.inclusion(experts, top_k), tokens)


def parse_routing(text: str):
    """``uniform``, ``zipf`` or ``zipf:S`` (exponent S) -> a routing distribution."""
    kind, _, arg = text.partition(":")
    if kind == "uniform" and not arg:
        return Uniform()
    if kind == "zipf":
        try:
            return Zipf(float(arg) if arg else 1.0)
        except ValueError:
            pass
    raise SimlowError(f"unknown routing {text!r} (valid: uniform, zipf, zipf:S with S >= 0)")
