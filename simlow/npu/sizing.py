"""Sizing: the smallest NPU design that meets a decode target (and a power budget).

``size(model, scheme, target_decode_tok_s, node, dram, ...)`` sweeps a ``Grid`` of designs
(``simlow.npu.sweep``) and returns the feasible design of least area (ties: lower decode
power), with its speed, energy per token, power, what bounds it (the roofline bound of its
decode) and, for every dimension, the next-smaller design along that dimension and why it
fails (``speed``, ``sram_capacity``, ``sram_bandwidth`` or ``power``). Because area grows
in every dimension, each of those neighbours is smaller and therefore infeasible.

The DRAM memory size is the smallest of ``npu.yaml``'s capacities that holds the model,
its KV cache and workspace (``simlow.memory.footprint``) for the workload. A DRAM name
without a width (``lpddr5x-8533``) sweeps the bus width too. When no point meets the
target the result has no design and says what the best point reaches and why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from simlow.npu.dram import DramConfig, parse_dram
from simlow.npu.design import NpuCost, NpuDesign, evaluate, served_formats, unit_for_format
from simlow.npu.data import load_npu_data
from simlow.npu.sweep import DIMENSIONS, REASONS, Grid, Sweep, sweep
from simlow.cost.scaling import ScalingRule, parse_node
from simlow.errors import SimlowError
from simlow.workload.tokens import Workload


@dataclass(frozen=True)
class Neighbour:
    dimension: str
    value: int
    reason: str
    decode_tok_s: float
    decode_power_W: float


@dataclass(frozen=True)
class SizingResult:
    model: str
    scheme: str
    workload: Workload
    target_decode_tok_s: float
    power_budget_W: float | None
    points: int
    feasible: int
    design: NpuDesign | None
    cost: NpuCost | None
    decode_tok_s: float | None
    energy_j_per_token: float | None
    decode_power_W: float | None
    bound: str | None
    neighbours: tuple[Neighbour, ...]
    note: str

    def to_dict(self) -> dict:
        out = {"model": self.model, "scheme": self.scheme, "workload": asdict(self.workload),
               "target_decode_tok_s": self.target_decode_tok_s,
               "power_budget_W": self.power_budget_W, "points": self.points, "feasible": self.feasible,
               "note": self.note, "decode_tok_s": self.decode_tok_s, "energy_j_per_token": self.energy_j_per_token,
               "decode_power_W": self.decode_power_W, "bound": self.bound,
               "neighbours": [asdict(n) for n in self.neighbours], "design": None}
        if self.design is not None:
            d, c = self.design, self.cost
            out["design"] = {"name": d.label, "unit": d.unit, "array_side": d.array_side, "arrays": d.arrays,
                             "macs": d.macs, "vector_lanes": d.vector_lanes, "sram_bytes": d.sram_bytes,
                             "dram": d.dram.name, "capacity_GB": d.capacity_GB, "node_nm": d.node_nm,
                             "clock_Hz": c.clock_Hz, "fmax_Hz": c.fmax_Hz, "area_mm2": dict(c.area_mm2), "peak_ops": dict(c.peak_ops),
                             "static_W": c.static_W, "tdp_W": c.tdp_W}
        return out


def capacity_for(model: str, scheme: str, work: Workload, base: NpuDesign) -> float:
    """The smallest configured DRAM size (GB) holding the workload's footprint."""
    from simlow.npu.spec import to_hardware_spec
    from simlow.memory import footprint
    from simlow.specs import load_model, load_scheme

    spec = to_hardware_spec(base)
    fp = footprint(load_model(model), spec, load_scheme(scheme), work.prompt + work.gen, work.batch)
    data = load_npu_data()
    for gb in data.capacities_GB:
        if gb * 1e9 >= fp.total_bytes:
            return gb
    raise SimlowError(f"{model} at {scheme} needs {fp.total_bytes / 1e9:.1f} GB; the largest DRAM size "
                      f"simlow sizes is {data.capacities_GB[-1]:g} GB")


def size(model: str, scheme: str, target_decode_tok_s: float, node: str | int, dram: str | DramConfig,
         unit: str | None = None, power_budget_W: float | None = None, batch: int = 1, prompt: int = 512,
         gen: int = 128, grid: Grid = Grid(), clock_derate: float = 1.0,
         rule: ScalingRule = ScalingRule.STILLMAKER, clock_Hz: float | None = None) -> SizingResult:
    """The smallest design meeting the target (see the module docstring)."""
    from simlow.specs import load_scheme

    if not target_decode_tok_s > 0:
        raise SimlowError(f"target decode tokens/s must be > 0, got {target_decode_tok_s!r}")
    if power_budget_W is not None and not power_budget_W > 0:
        raise SimlowError(f"power budget must be > 0 W, got {power_budget_W!r}")
    sch = load_scheme(scheme)
    unit = unit or unit_for_format(sch.compute)
    if sch.compute not in served_formats(unit):
        raise SimlowError(f"unit {unit} does not run scheme {scheme}'s compute format {sch.compute} "
                          f"(it runs {', '.join(served_formats(unit))})")
    cfg = dram if isinstance(dram, DramConfig) else parse_dram(dram, open_width=True)
    open_width = cfg.width_bits == 0
    first = cfg if not open_width else cfg.with_width(grid.widths[0])
    work = Workload(batch, prompt, gen)
    probe = NpuDesign(unit, grid.array_sides[0], grid.arrays[0], grid.sram_KiB[0] * 1024, first,
                      parse_node(node), 1.0, grid.vector_lanes[0], clock_derate, rule, clock_Hz=clock_Hz)
    base = probe.with_(capacity_GB=capacity_for(model, scheme, work, probe))
    sw = sweep(model, scheme, work, base, grid, open_width, target_decode_tok_s, power_budget_W)
    return choose(sw, model, scheme, work, target_decode_tok_s, power_budget_W)


def choose(sw: Sweep, model: str, scheme: str, work: Workload, target: float,
           budget: float | None) -> SizingResult:
    ok = np.flatnonzero(sw.reason == 0)
    n = int(sw.area_mm2.size)
    if ok.size == 0:
        return SizingResult(model, scheme, work, target, budget, n, 0, None, None, None, None, None, None, (), _why_none(sw, target))
    order = np.lexsort((sw.decode_power_W[ok], sw.area_mm2[ok]))
    i = int(ok[order[0]])
    design = sw.design(i)
    note = "smallest area among feasible points (ties: lower decode power)"
    edge = [k for k, v in sw.dims.items() if int(v[i]) == int(v.min()) and np.unique(v).size > 1]
    if edge:
        note += f"; at the grid's smallest {', '.join(edge)} (smaller values were not tried)"
    return SizingResult(model, scheme, work, target, budget, n, int(ok.size), design, evaluate(design), float(sw.decode_tok_s[i]),
                        float(sw.energy_j_per_token[i]), float(sw.decode_power_W[i]), str(sw.bound[i]),
                        neighbours(sw, i), note)


def neighbours(sw: Sweep, i: int) -> tuple[Neighbour, ...]:
    """For each dimension, the next-smaller grid value (others fixed) and why it fails."""
    point = {k: int(v[i]) for k, v in sw.dims.items()}
    out = []
    for dim in DIMENSIONS:
        values = np.unique(sw.dims[dim])
        smaller = values[values < point[dim]]
        if smaller.size == 0:
            continue
        j = sw.index(**{**point, dim: int(smaller[-1])})
        if j is None:  # pragma: no cover - the grid is a full product
            continue
        out.append(Neighbour(dim, int(smaller[-1]), REASONS[int(sw.reason[j])], float(sw.decode_tok_s[j]),
                             float(sw.decode_power_W[j])))
    return tuple(out)


def _why_none(sw: Sweep, target: float) -> str:
    best = int(np.argmax(sw.decode_tok_s))
    counts = {REASONS[c]: int(np.sum(sw.reason == c)) for c in range(1, len(REASONS)) if np.any(sw.reason == c)}
    return (f"no design in the grid meets {target:g} tok/s: the fastest point reaches "
            f"{sw.decode_tok_s[best]:.3g} tok/s ({sw.bound[best]}-bound, DRAM "
            f"{sw.base.dram.with_width(int(sw.dims['width'][best])).name}); failures by reason: {counts}")
