"""The performance simulator: roofline (vectorized), software stacks, predictions, validation.

Layering: ``simlow.graph`` (op graph of a model for a phase) -> ``roofline`` (per-op
max(compute, memory) + overheads, NumPy) and ``des`` (SimPy, when present) -> ``predict``
(a ``Prediction``) -> ``validate`` (predictions against measured CSVs). The simulator never
imports JAX. Modules are imported on first use so ``import simlow.sim`` stays cheap.
"""

from __future__ import annotations

import importlib

__all__ = ["predict", "Prediction"]


def __getattr__(name: str):
    if name == "predict":
        return importlib.import_module("simlow.sim.predict").predict
    if name == "Prediction":
        return importlib.import_module("simlow.sim.results").Prediction
    raise AttributeError(f"module 'simlow.sim' has no attribute {name!r}")
