"""The performance simulator: roofline (vectorized), software stacks, predictions.

Layering: ``simlow.workload`` (op graph of a model for a phase) -> ``roofline`` (per-op
max(compute, memory) + overheads, NumPy) and ``des`` (SimPy) -> ``predict`` (a
``Prediction``). Validation against measurements lives above it in ``simlow.validation``.
The simulator never imports JAX.

``simlow.sim.predict`` is the function (bound here after the submodule of the same name is
imported, so the name means the function, not the module).
"""

from __future__ import annotations

from simlow.sim.predict import predict
from simlow.sim.results import Prediction

__all__ = ["predict", "Prediction"]
