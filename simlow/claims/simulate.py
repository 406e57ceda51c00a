"""The checker's view of the rest of simlow: the simulator and the cost model.

Where one cannot answer (a configuration the simulator refuses, a design the cost model
does not know), the result carries no value and a one-line reason, which the verdict then
reports; nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from simlow.claims.bounds import Setup
from simlow.claims.metrics import Metric
from simlow.claims.schema import CostQuery
from simlow.cost.maccompare import IntStyle, compare_macs
from simlow.cost.pricing import Tech
from simlow.errors import SimlowError
from simlow.sim.predict import predict

_PREDICTION_FIELD = {
    Metric.DECODE_TOK_S: "decode_tok_s", Metric.PREFILL_TOK_S: "prefill_tok_s",
    Metric.TTFT_S: "ttft_s", Metric.ENERGY_J_PER_TOKEN: "energy_j_per_token",
}


@dataclass(frozen=True)
class Simulated:
    value: float | None
    note: str           # what produced the value, or why there is none


def simulate(setup: Setup, metric: Metric, config) -> Simulated:
    """simlow.sim.predict's value of ``metric`` for ``setup`` (``config``: the claim's
    configuration, for its stack and routing names)."""
    kwargs = {"scheme": setup.scheme, "batch": setup.workload.batch, "prompt": setup.workload.prompt,
              "gen": setup.workload.gen}
    if setup.workload.depth:
        kwargs["depth"] = setup.workload.depth
    if setup.workload.ctx is not None:
        kwargs["ctx"] = setup.workload.ctx
    for key, value in (("stack", config.stack), ("routing", setup.routing),
                       ("offload", setup.offload)):
        if value is not None:
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
        style = IntStyle(query.int_style)
        result = compare_macs(Tech(query.node_nm), act_bits=query.act_bits, int_style=style)
    except SimlowError as err:
        return Simulated(None, f"the cost model cannot answer: {err}")
    for row in result.ratios:
        if row.design == query.design and row.baseline == query.baseline:
            value = row.area_ratio_same_clock if metric is Metric.AREA_RATIO else row.clock_ratio
            return Simulated(float(value), f"simlow.cost.maccompare at {query.node_nm} nm, "
                                           f"{query.int_style} INT baseline, A{query.act_bits}")
    pairs = ", ".join(sorted({f"{r.design} vs {r.baseline}" for r in result.ratios}))
    return Simulated(None, f"the cost model has no {query.design} vs {query.baseline} (it has: {pairs})")
