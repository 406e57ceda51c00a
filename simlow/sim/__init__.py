"""The performance simulator: roofline (vectorized), software stacks, predictions, validation.

Layering: ``simlow.graph`` (op graph of a model for a phase) -> ``roofline`` (per-op
max(compute, memory) + overheads, NumPy) and ``des`` (SimPy, when present) -> ``predict``
(a ``Prediction``) -> ``validate`` (predictions against measured CSVs). The simulator never
imports JAX.

``simlow.sim.predict`` is the function (bound here after the submodule of the same name is
imported, so the name means the function, not the module).
"""

from __future__ import annotations

from simlow.sim.predict import predict
from simlow.sim.results import Prediction

__all__ = ["predict", "Prediction"]
