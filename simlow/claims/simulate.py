"""The checker's view of the rest of simlow: the simulator and the cost model.

Both are imported on use. Where one cannot answer (not installed in this checkout, no
model of expert offload, a design the cost model does not know), the result carries no
value and a one-line reason, which the verdict then reports; nothing is guessed.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from simlow.claims.bounds import Setup
from simlow.claims.metrics import Metric
from simlow.claims.schema import CostQuery
from simlow.errors import SimlowError

_PREDICTION_FIELD = {
    Metric.DECODE_TOK_S: "decode_tok_s", Metric.PREFILL_TOK_S: "prefill_tok_s",
    Metric.TTFT_S: "ttft_s", Metric.ENERGY_J_PER_TOKEN: "energy_j_per_token",
}


@dataclass(frozen=True)
class Simulated:
    value: float | None
    note: str           # what produced the value, or why there is none


def _predict_function():
    try:
        return importlib.import_module("simlow.sim.predict").predict
    except (ImportError, AttributeError):
        return None


def simulate(setup: Setup, metric: Metric, config) -> Simulated:
    """simlow.sim.predict's value of ``metric`` for ``setup`` (``config``: the claim's
    configuration, for its stack and routing names)."""
    predict = _predict_function()
    if predict is None:
        return Simulated(None, "simlow.sim.predict is not available in this installation")
    params = inspect.signature(predict).parameters
    kwargs = {"scheme": setup.scheme, "batch": setup.workload.batch, "prompt": setup.workload.prompt,
              "gen": setup.workload.gen}
    if setup.workload.depth:
        kwargs["depth"] = setup.workload.depth
    if setup.workload.ctx is not None:
        kwargs["ctx"] = setup.workload.ctx
    for key, value in (("stack", config.stack), ("routing", setup.routing),
                       ("offload", setup.offload.to_mapping() if setup.offload else None)):
        if value is None:
            continue
        if key not in params:
            return Simulated(None, f"simlow.sim.predict takes no {key}")
        kwargs[key] = value
    try:
        p = predict(setup.model, setup.hw, **kwargs)
    except SimlowError as err:
        return Simulated(None, f"the simulator cannot run this configuration: {err}")
    value = getattr(p, _PREDICTION_FIELD[metric], None)
    if value is None:
        return Simulated(None, f"the prediction has no {_PREDICTION_FIELD[metric]}")
    detail = [n for n in getattr(p, "notes", ()) if n.startswith(("expert cache", "offload:"))]
    if getattr(p, "fits", True) is False:
        part = "the device part" if setup.offload is not None else "it"
        if not config.assume_fits:
            return Simulated(None, f"the simulator says {part} does not fit in device memory")
        detail.append(f"hypothetical: {part} does not fit; the speed is as if it did")
    fidelity = getattr(p, "fidelity", None)
    return Simulated(float(value), "; ".join([f"simlow.sim.predict ({fidelity}, stack {p.stack})", *detail]))


def cost_ratio(query: CostQuery, metric: Metric) -> Simulated:
    """The cost model's area or max-clock ratio of ``query.design`` over ``query.baseline``."""
    try:
        maccompare = importlib.import_module("simlow.cost.maccompare")
        pricing = importlib.import_module("simlow.cost.pricing")
    except ImportError:
        return Simulated(None, "the cost model's MAC comparison (simlow.cost.maccompare) is not available")
    try:
        style = maccompare.IntStyle(query.int_style)
        result = maccompare.compare_macs(pricing.Tech(query.node_nm), act_bits=query.act_bits, int_style=style)
    except SimlowError as err:
        return Simulated(None, f"the cost model cannot answer: {err}")
    for row in result.ratios:
        if row.design == query.design and row.baseline == query.baseline:
            value = row.area_ratio_same_clock if metric is Metric.AREA_RATIO else row.clock_ratio
            return Simulated(float(value), f"simlow.cost.maccompare at {query.node_nm} nm, "
                                           f"{query.int_style} INT baseline, A{query.act_bits}")
    pairs = ", ".join(sorted({f"{r.design} vs {r.baseline}" for r in result.ratios}))
    return Simulated(None, f"the cost model has no {query.design} vs {query.baseline} (it has: {pairs})")
