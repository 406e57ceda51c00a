"""A serving engine's host time: what a stack spends outside the forward pass per step.

A stack file's optional ``serving:`` block (read by ``simlow.sim.stacks``; used only by
``simlow.serving``, so ``simlow predict`` and the throughput validation never see it)::

    serving:
      step_overhead: 0 us        # per scheduler step (scheduling, input preparation, sync)
      part_overhead: 100 us      # per request scheduled in a step (its bookkeeping, sampling,
                                 # detokenization and streaming of its output)
      calibration: "..."         # how the two were obtained
      fitted_on: {by: hw, train: [...], held_out: [...]}   # optional, as for the stack

Both are serial with the step's forward pass (``simlow.serving.cost.step_cost``).
"""

from __future__ import annotations

from dataclasses import dataclass

from simlow.quantities import Dim


@dataclass(frozen=True)
class ServingHost:
    step_s: float                  # seconds per scheduler step
    part_s: float                  # seconds per request part of a step
    calibration: str
    fitted_on: object = None       # simlow.sim.stacks.FitSplit, or None (nothing fitted)

    def seconds(self, steps, parts) -> float:
        """Host seconds of ``steps`` scheduler steps that each schedule ``parts`` requests."""
        return float(steps) * (self.step_s + self.part_s * float(parts))


def read_host(r, fit_split) -> ServingHost:
    """The ``serving:`` block of reader ``r`` (``fit_split``: the stack loader's reader of a
    ``fitted_on:`` block, passed in so this module needs nothing of the loader)."""
    host = ServingHost(r.quantity("step_overhead", Dim.TIME, default=0.0),
                       r.quantity("part_overhead", Dim.TIME, default=0.0),
                       r.str("calibration"), fit_split(r) if r.has("fitted_on") else None)
    r.done()
    return host
