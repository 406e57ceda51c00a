"""Fit a serving stack's host time (``simlow.sim.host``) on some measured runs, hold out the rest.

``fit_host(train)`` simulates every ``workloads/measured/serving_*.csv`` row at each
(per-step, per-request-part) host time of a grid, scores it on the rows of the ``train``
devices only (the mean over TTFT p50, TPOT mean, duration and E2E mean of the median
|simulated / measured - 1|) and returns the grid point of least score with every device's
score beside it, so the held-out devices' figures at the fitted point can be read off.
Nothing in it looks at the held-out rows to choose. A grid, not a gradient: the simulation
is a discrete scheduler, piecewise in the host time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlow.serving.validate import compare
from simlow.sim.host import ServingHost

SCORED = ("ttft_p50_ms", "tpot_mean_ms", "duration_s", "e2e_mean_ms (derived)")
STEP_GRID_S = (0.0, 1e-3, 2e-3, 5e-3)
PART_GRID_S = (0.0, 50e-6, 100e-6, 200e-6, 300e-6, 400e-6, 600e-6)


@dataclass(frozen=True)
class HostFit:
    host: ServingHost
    train: tuple[str, ...]
    score: dict            # device -> score at the fitted point
    score_at_zero: dict    # device -> score with no host time


def device_scores(host: ServingHost, data=None) -> dict[str, float]:
    """Each device's score (module docstring) with host time ``host``."""
    errs: dict = {}
    for c in compare(data, host).comparisons:
        errs.setdefault(c.device, {}).setdefault(c.figure, []).append(abs(c.error))
    return {d: float(np.mean([np.median(f[k]) for k in SCORED if k in f])) for d, f in errs.items()}


def fit_host(train: tuple[str, ...], data=None, steps=STEP_GRID_S, parts=PART_GRID_S) -> HostFit:
    """The grid point of least score on the ``train`` devices (module docstring)."""
    def on_train(scores):
        return float(np.mean([scores[d] for d in train]))

    grid = {(s, p): device_scores(ServingHost(s, p, "grid point"), data) for s in steps for p in parts}
    (s, p), best = min(grid.items(), key=lambda kv: (on_train(kv[1]), kv[0]))
    zero = grid.get((0.0, 0.0)) or device_scores(ServingHost(0.0, 0.0, "none"), data)
    host = ServingHost(s, p, f"fitted on {', '.join(train)} (simlow.serving.fit.fit_host)")
    return HostFit(host, tuple(train), best, zero)
