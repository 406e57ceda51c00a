"""Many decode steps from few simulated ones.

Decode steps differ only in their context ``L`` (the KV cache grows one token per step), and
with one agent and no carried state each step starts from an empty pipeline, so a step is a
function ``v(L)`` (time, per-op times, bytes). Its only ``L``-dependent work is the
attention op's KV stream, linear in ``L``; ``v`` is therefore piecewise linear in ``L``,
with a kink where some op switches between compute- and memory-bound, plus picosecond
rounding. ``affine_sum`` simulates the two ends of the range and three interior points
(the quartiles): when all three lie on the chord within ``tol`` (in picoseconds of step
time) the range is summed as an arithmetic series, otherwise it is split in two and each
half is treated the same way. A kink inside a range bends the function away from its chord
at a quartile unless it sits exactly between checks (ranges of 4 steps or fewer are
simulated step by step). The error bound is ``tol`` per step.

The per-step values it returns (``per_step``) are the chord values where a range was
accepted and the simulated values elsewhere.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def affine_sum(f: Callable[[int], np.ndarray], a: int, b: int, tol: float) -> tuple[np.ndarray, int]:
    """``(values for L = a..b as rows, number of distinct L simulated)``; ``f(L)[0]`` is
    the step time compared against the chord."""
    memo: dict[int, np.ndarray] = {}

    def val(L: int) -> np.ndarray:
        if L not in memo:
            memo[L] = np.asarray(f(L), dtype=np.float64)
        return memo[L]

    rows = np.empty((b - a + 1, len(val(a))), dtype=np.float64)

    def fill(lo: int, hi: int) -> None:
        if hi - lo <= 4:
            for L in range(lo, hi + 1):
                rows[L - a] = val(L)
            return
        vlo, vhi = val(lo), val(hi)
        checks = [lo + (hi - lo) * q // 4 for q in (1, 2, 3)]
        chord = lambda L: vlo + (vhi - vlo) * ((L - lo) / (hi - lo))
        if all(abs(val(L)[0] - chord(L)[0]) <= tol for L in checks):
            x = (np.arange(lo, hi + 1, dtype=np.float64) - lo) / (hi - lo)
            rows[lo - a:hi - a + 1] = vlo + np.outer(x, vhi - vlo)
            for L in checks:
                rows[L - a] = memo[L]
            return
        mid = (lo + hi) // 2
        fill(lo, mid)
        fill(mid + 1, hi)

    fill(a, b)
    return rows, len(memo)
