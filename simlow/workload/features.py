"""Workload features of a template at a phase, and a template evaluated into an ``Op``.

The feature definitions are in ``simlow.workload.op``; everything here works on scalars and
on broadcast NumPy arrays (the roofline evaluates 100,000-point sweeps at once).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from simlow.errors import SimlowError
from simlow.workload.op import QUANTITIES, Op, OpTemplate


def attended_pairs(batch, tokens, context, window):
    """``batch * sum_{i=1..tokens} min(context + i, window)`` (window None: unlimited).

    Works on NumPy arrays (broadcast) as well as on scalars."""
    b, n, L = (np.asarray(x, dtype=np.float64) for x in (batch, tokens, context))
    if window is None:
        return b * (n * L + n * (n + 1) / 2)
    c = np.clip(window - L, 0, n)          # steps whose whole history fits in the window
    return b * (c * L + c * (c + 1) / 2 + (n - c) * window)


def features(t: OpTemplate, batch, tokens, context, distinct_experts=None) -> dict:
    """The feature values of template ``t`` at a phase (scalars or broadcast NumPy arrays).

    ``distinct_experts`` is E[distinct experts] for ``batch * tokens`` routed tokens (from a
    routing distribution, ``simlow.workload.routing``); required when ``t`` reads experts."""
    b, n, L = (np.asarray(x, dtype=np.float64) for x in (batch, tokens, context))
    cached = b * (L + n if t.window is None else np.minimum(L + n, t.window))
    f = {"one": np.ones_like(b * n * L), "tokens": b * n, "seqs": b, "cached": cached,
         "pairs": attended_pairs(b, n, L, t.window)}
    if "experts" in t.coef.get("weight_read", {}):
        if distinct_experts is None:
            raise SimlowError(f"{t.name}: a MoE op needs the expected number of distinct experts")
        f["experts"] = np.asarray(distinct_experts, dtype=np.float64)
    else:
        f["experts"] = np.zeros_like(f["one"])
    return f


def evaluate(t: OpTemplate, f: Mapping[str, float], engines: tuple[str, ...] = ()) -> Op:
    """Template ``t`` at scalar feature values ``f``: one concrete ``Op``."""
    vals = {q: float(t.value(q, f)) for q in QUANTITIES}
    return Op(t.name, t.op_class, t.compute, kernels=t.kernels, repeat=t.repeat, layers=t.layers,
              weight_format=t.weight_format, engines=engines, role=t.role, **vals)
