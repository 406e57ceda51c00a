"""Pricing: energy (and area) of primitives at a node, and of counted events.

Counting is the datapaths' job (``simlow.events``); this module only prices. Each
``Event`` maps to one primitive of the table (``EVENT_PRIMITIVE``) with the event's widths
as its shape; an ``FP_FMA`` is priced as an ``fp_mul`` plus an ``fp_add`` of its format
(no fused-unit anchor exists; sharing the alignment makes a real FMA somewhat cheaper),
and a ``LUT_READ`` of a ``width``-bit entry out of ``width2`` entries as the read mux tree,
``width * (width2 - 1)`` 2:1 mux bits (storage is area, not per-read energy). ``SKIP``,
``OVERFLOW`` and ``SATURATE`` are bookkeeping: they price at 0 pJ and say so.

Energy at a node = base-node anchor x energy factor of the rule (per anchor, so the
``jouppi7`` rule can apply a different TPUv4i row to the fp16 and fp32 anchors) and then
the width model. Area = base-node anchor x Stillmaker area factor.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Mapping

from simlow.cost.primitives import PrimitiveTable, load_primitives
from simlow.cost.scaling import ScalingData, ScalingRule, area_factor, check_node, energy_factor, load_scaling
from simlow.specs.sourced import Confidence, weakest
from simlow.cost.widthmodel import Estimate, Shape, feature
from simlow.events import Event, EventCounts, Op
from simlow.errors import SimlowError


@dataclass(frozen=True)
class Tech:
    """Where pricing happens: a node, an energy scaling rule and the tables used."""

    node_nm: int
    rule: ScalingRule = ScalingRule.STILLMAKER
    table: PrimitiveTable | None = None
    scaling: ScalingData | None = None

    def __post_init__(self) -> None:
        check_node(self.node_nm)
        if not isinstance(self.rule, ScalingRule):
            raise SimlowError(f"scaling rule must be a ScalingRule, got {self.rule!r}")

    @property
    def primitives(self) -> PrimitiveTable:
        return self.table or load_primitives()

    @property
    def scale(self) -> ScalingData:
        return self.scaling or load_scaling()


def energy_pJ(tech: Tech, primitive: str, shape: Shape) -> Estimate:
    """Energy of one action of ``primitive`` with ``shape`` at ``tech``, with its basis."""
    prim = tech.primitives.get(primitive)
    used: set[ScalingRule] = set()

    def factor(anchor) -> float:
        f, rule = energy_factor(tech.node_nm, tech.rule, anchor.jouppi_class or prim.jouppi_class, tech.scale)
        used.add(rule)
        return f

    est = prim.energy_pJ.evaluate(feature(prim.model, shape), factor)
    rules = "+".join(sorted(r.value for r in used)) or "none"
    fallback = " (no TPUv4i row: stillmaker used)" if tech.rule is ScalingRule.JOUPPI7 and used == {ScalingRule.STILLMAKER} else ""
    basis = f"{est.basis}; 45->{tech.node_nm} nm energy by {rules}{fallback}"
    return Estimate(est.value, basis, est.confidence, est.sources)


def area_um2(tech: Tech, primitive: str, shape: Shape) -> Estimate:
    """Area of one instance of ``primitive`` with ``shape`` at ``tech``, with its basis."""
    prim = tech.primitives.get(primitive)
    if not prim.area_um2.anchors:
        raise SimlowError(f"no published area for {primitive} in {tech.primitives.file} (only energy)")
    fa = area_factor(tech.node_nm, tech.scale)
    est = prim.area_um2.evaluate(feature(prim.model, shape), lambda _a: fa)
    return Estimate(est.value, f"{est.basis}; 45->{tech.node_nm} nm area x{fa:.4g} (stillmaker)",
                    est.confidence, est.sources)


EVENT_PRIMITIVE: dict[Op, str] = {
    Op.INT_MUL: "int_mul", Op.INT_ADD: "int_add", Op.SHIFT: "shift", Op.NEGATE: "negate",
    Op.MUX: "mux", Op.FP_MUL: "fp_mul", Op.FP_ADD: "fp_add", Op.REG_WRITE: "reg",
}
BOOKKEEPING = (Op.SKIP, Op.OVERFLOW, Op.SATURATE)


def event_shape(event: Event) -> Shape:
    return Shape(width=event.width, width2=event.width2, fmt=event.fmt)


def _event_estimate(tech: Tech, event: Event, metric, unit: str) -> Estimate:
    """``metric`` (``energy_pJ`` or ``area_um2``) of the hardware one ``event`` exercises."""
    if event.op in EVENT_PRIMITIVE:
        return metric(tech, EVENT_PRIMITIVE[event.op], event_shape(event))
    if event.op is Op.FP_FMA:
        mul = metric(tech, "fp_mul", Shape(fmt=event.fmt))
        add = metric(tech, "fp_add", Shape(fmt=event.fmt))
        return Estimate(mul.value + add.value, f"fp_mul + fp_add {event.fmt} ({mul.basis} | {add.basis})",
                        weakest([mul.confidence, add.confidence, Confidence.D]), mul.sources + add.sources)
    if event.op is Op.LUT_READ:
        if event.width <= 0 or event.width2 < 2:
            raise SimlowError(f"lut_read needs width > 0 and width2 (entries) >= 2, got {event}")
        bits = event.width * (event.width2 - 1)
        mux = metric(tech, "mux", Shape(width=bits))
        return Estimate(mux.value, f"read mux tree of {bits} 2:1 mux bits ({mux.basis})",
                        weakest([mux.confidence, Confidence.D]), mux.sources)
    if event.op in BOOKKEEPING:
        return Estimate(0.0, f"bookkeeping event: no hardware {unit} priced", Confidence.A, ())
    raise SimlowError(f"no price for event {event}")  # pragma: no cover - Op is closed


def event_energy_pJ(tech: Tech, event: Event) -> Estimate:
    """Energy of one ``event`` at ``tech`` (see the module docstring for the mapping)."""
    return _event_estimate(tech, event, energy_pJ, "energy")


def event_area_um2(tech: Tech, event: Event) -> Estimate:
    """Area of the hardware that performs one ``event`` (same mapping as the energy)."""
    return _event_estimate(tech, event, area_um2, "area")


@dataclass(frozen=True)
class PricedRow:
    component: str
    event: str
    count: int
    energy_per_event_pJ: float
    energy_pJ: float
    confidence: str
    basis: str


@dataclass(frozen=True)
class PricedCounts:
    """Event counts priced at one node and rule: rows sorted by component then event."""

    node_nm: int
    rule: ScalingRule
    rows: tuple[PricedRow, ...]

    @property
    def total_pJ(self) -> float:
        return sum(r.energy_pJ for r in self.rows)

    def component_pJ(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.rows:
            out[r.component] = out.get(r.component, 0.0) + r.energy_pJ
        return out

    def to_dict(self) -> dict:
        return {"node_nm": self.node_nm, "rule": self.rule.value, "total_pJ": self.total_pJ,
                "components_pJ": self.component_pJ(), "rows": [asdict(r) for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_csv(self) -> str:
        return rows_to_csv([asdict(r) for r in self.rows])


def price_components(components: Mapping[str, EventCounts], tech: Tech) -> PricedCounts:
    """Price ``{component name: {Event: count}}`` at ``tech`` (an event may also be its text,
    ``"int_mul:8b:x8"``, as ``json.loads`` gives it back)."""
    rows = []
    for comp in sorted(components):
        for key in sorted(components[comp], key=str):
            n, event = components[comp][key], Event.parse(key)
            if n < 0:
                raise SimlowError(f"negative count {n} for event {event} in component {comp!r}")
            est = event_energy_pJ(tech, event)
            rows.append(PricedRow(comp, str(event), int(n), est.value, est.value * n,
                                  est.confidence.value, est.basis))
    return PricedCounts(tech.node_nm, tech.rule, tuple(rows))


def price_counts(counts: EventCounts, tech: Tech, component: str = "total") -> PricedCounts:
    """Price one ``{Event: count}`` mapping at ``tech``."""
    return price_components({component: counts}, tech)


def rows_to_csv(rows: list[dict]) -> str:
    """Deterministic CSV text (header from the first row's keys; "\\n" line ends)."""
    if not rows:
        return ""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()
