"""Evaluate a grid of NPU designs at once: area, decode speed, energy, power, constraints.

Every design point of a ``Grid`` (array side x array count x SRAM x DRAM width x vector
lanes, one unit, node, DRAM type and clock derate) is priced with NumPy by the same rules
as ``simlow.npu.design.evaluate``, and its decode speed comes from the simulator's own
vectorized roofline (``simlow.sim.predict.decode_times`` over a ``Machine`` whose bandwidth
and peaks are arrays), under the ``ideal-npu`` stack: the NPU's roofline bound, the same
figure ``simlow.sim.predict`` gives for the generated spec under that stack. Peak rates
and bandwidths are rounded to the 6 significant digits the spec files carry.

Energy per token is the structural model: ops x energy per op on the engine that runs them
(array or vector lanes) + DRAM bytes x (device + PHY) energy per bit + every DRAM byte
written to and read from SRAM once + static power x time; decode power = that / time.

Constraints (a point that breaks one is infeasible, with the reason):

- ``speed``: decode tokens/s below the target;
- ``sram_capacity``: SRAM below the working set = 2 x (DRAM bandwidth x latency) (double
  buffering the stream) + 2 x one weight tile (units x weight bits) + 2 x one activation
  row (batch x the widest of hidden, FFN and query width x 4 bytes);
- ``sram_bandwidth``: SRAM banks x 8 bytes x clock below 2 x DRAM bandwidth (the stream is
  written and read);
- ``power``: decode power above the budget, when a budget is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from simlow.npu.design import (VECTOR_UNIT, NpuDesign, area_inventory, design_clock_Hz, make_unit, served_formats,
                               sram_access_pJ, static_W, tech_of)
from simlow.npu.data import NpuData, load_npu_data
from simlow.npu.spec import to_hardware_spec
from simlow.cost.pricing import area_um2
from simlow.cost.macs import FpMac, IntMac, PotMac, TernaryLane, unit_cost
from simlow.cost.widthmodel import Shape
from simlow.errors import SimlowError
from simlow.sim.roofline import BOUND_ORDER, Machine
from simlow.workload.tokens import Workload

REASONS = ("ok", "speed", "sram_capacity", "sram_bandwidth", "power")


@dataclass(frozen=True)
class Grid:
    """Values swept per dimension (ascending). ``widths`` is used when the DRAM width is open."""

    array_sides: tuple[int, ...] = (8, 16, 24, 32, 48, 64, 96, 128)
    arrays: tuple[int, ...] = (1, 2, 4, 8, 16)
    sram_KiB: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048, 4096, 8192)
    widths: tuple[int, ...] = (16, 32, 64, 128, 256)
    vector_lanes: tuple[int, ...] = (16, 32, 64, 128, 256)

    def __post_init__(self) -> None:
        for k in ("array_sides", "arrays", "sram_KiB", "widths", "vector_lanes"):
            v = getattr(self, k)
            if not v or list(v) != sorted(set(v)) or v[0] <= 0:
                raise SimlowError(f"grid {k} must be strictly ascending positive integers, got {v!r}")


DIMENSIONS = ("array_side", "arrays", "sram_KiB", "width", "vector_lanes")


@dataclass(frozen=True)
class Sweep:
    """Arrays over the flattened grid (index i = one design point)."""

    base: NpuDesign                   # unit, node, DRAM type/rate, derate, capacity shared by all points
    dims: dict                        # dimension -> int array
    area_mm2: np.ndarray
    decode_tok_s: np.ndarray
    energy_j_per_token: np.ndarray
    decode_power_W: np.ndarray
    reason: np.ndarray                # index into REASONS
    bound: np.ndarray                 # roofline bound: memory | compute | overhead
    sram_need_bytes: np.ndarray

    def design(self, i: int) -> NpuDesign:
        g = {k: int(v[i]) for k, v in self.dims.items()}
        return replace(self.base, array_side=g["array_side"], arrays=g["arrays"], sram_bytes=g["sram_KiB"] * 1024,
                       dram=self.base.dram.with_width(g["width"]), vector_lanes=g["vector_lanes"], name="", why=())

    def index(self, **point) -> int | None:
        """The index of the point with these dimension values, or None when not in the grid."""
        mask = np.ones(self.area_mm2.shape, dtype=bool)
        for k, v in point.items():
            mask &= self.dims[k] == v
        hits = np.flatnonzero(mask)
        return int(hits[0]) if hits.size == 1 else None


def _round6(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.floor(np.log10(np.where(x > 0, x, 1.0))) - 5
    return np.round(x / 10.0 ** e) * 10.0 ** e


def weight_bits(unit) -> int:
    if isinstance(unit, IntMac):
        return unit.weight_bits
    if isinstance(unit, PotMac):
        return unit.code_bits * (2 if unit.second_term else 1)
    if isinstance(unit, TernaryLane):
        return 2
    if isinstance(unit, FpMac):
        from simlow.numerics import fp_format
        return fp_format(unit.in_fmt).bits
    raise SimlowError(f"no weight width for {unit!r}")  # pragma: no cover


def _points(grid: Grid, open_width: bool, width: int) -> dict:
    widths = grid.widths if open_width else (width,)
    axes = np.meshgrid(np.array(grid.array_sides), np.array(grid.arrays), np.array(grid.sram_KiB),
                       np.array(widths), np.array(grid.vector_lanes), indexing="ij")
    return {k: a.ravel().astype(np.int64) for k, a in zip(DIMENSIONS, axes)}


def sweep(model: str, scheme: str, work: Workload, base: NpuDesign, grid: Grid = Grid(), open_width: bool = False,
          target_tok_s: float = 0.0, power_budget_W: float | None = None,
          data: NpuData | None = None) -> Sweep:
    """Evaluate every point of ``grid`` around ``base`` (see the module docstring)."""
    d = data or load_npu_data()
    tech = tech_of(base)
    uc, vc = unit_cost(make_unit(base.unit, d), tech), unit_cost(VECTOR_UNIT, tech)
    clock = design_clock_Hz(base, uc)[0]
    p = _points(grid, open_width, base.dram.width_bits)
    macs = p["array_side"] ** 2 * p["arrays"]
    area = _area(p, macs, uc, vc, clock, base, d, tech)
    bw = _round6(base.dram.mtps * 1e6 * p["width"] / 8.0)
    arr_peak, vec_peak = _round6(2.0 * macs * clock), _round6(2.0 * p["vector_lanes"] * clock)
    t_dec, flops, nbytes, bound = _decode(model, scheme, work, base, bw, arr_peak, vec_peak)
    tokens = work.batch * work.gen
    tok_s = tokens / t_dec
    rd, wr = sram_access_pJ(tech, d)
    e_sram = (rd + wr) / (d.bank_width_bits.value / 8)
    dram_pj = base.dram.device_pJ_per_bit() + d.phy_pJ_per_bit.value
    e_ops = _op_energy(flops, base.unit, arr_peak, vec_peak, uc.energy_pJ_per_op / 2, vc.energy_pJ_per_op / 2)
    static = static_W(area, d)
    energy = (e_ops + nbytes * (8 * dram_pj + e_sram)) * 1e-12 + static * t_dec
    power = energy / t_dec
    need = _sram_need(model, work, base, d, bw, macs)
    sram_bw = np.ceil(p["sram_KiB"] * 1024 / d.bank_bytes.value) * d.bank_width_bits.value / 8 * clock
    reason = np.zeros(macs.shape, dtype=np.int64)
    for code, bad in ((4, power > power_budget_W if power_budget_W else np.zeros_like(reason, bool)),
                      (3, sram_bw < 2 * bw), (2, p["sram_KiB"] * 1024 < need), (1, tok_s < target_tok_s)):
        reason = np.where(bad, code, reason)
    return Sweep(base, p, area["total"], tok_s, energy / tokens, power, reason, bound, need)


def _area(p: dict, macs, uc, vc, clock: float, base: NpuDesign, d: NpuData, tech) -> dict:
    stages = max(1, math.ceil(vc.delay_ps * clock / 1e12 - 1e-9))
    lane = vc.area_um2 + (stages - 1) * d.vector_stage_register_bits.value * area_um2(tech, "reg", Shape(width=1)).value
    ch_bits = d.dram(base.dram.type).channel_bits
    return area_inventory(p["array_side"], p["arrays"], p["vector_lanes"], p["sram_KiB"] * 1024,
                          p["width"] // ch_bits, uc, lane, base.node_nm, d, base.local_sram_bytes,
                          base.local_reg_bytes)


def _decode(model: str, scheme: str, work: Workload, base: NpuDesign, bw, arr_peak, vec_peak):
    """Decode time per design (unique rate triples evaluated once), flops by format, bytes."""
    from simlow.workload.templates import templates
    from simlow.sim.phases import decode_times
    from simlow.sim.predict import resolve

    rates = np.stack([bw, arr_peak, vec_peak], axis=1)
    uniq, inv = np.unique(rates, axis=0, return_inverse=True)
    inv = inv.ravel()
    req = resolve(model, to_hardware_spec(base), scheme, work.batch, work.prompt, work.gen,
                  stack="ideal-npu")
    temps, _ = templates(req.model, req.scheme)
    from simlow.sim.machine import run_format

    fmt = {t.name: run_format(t, req.stack, req.engine) for t in temps}
    on_array = set(served_formats(base.unit))

    def peak_for(t):
        f = fmt[t.name]
        a, v = uniq[:, 1:2], uniq[:, 2:3]
        if f in on_array and f in ("fp32", "fp16", "bf16"):
            return np.maximum(a, v)
        return a if f in on_array else v

    mach = Machine(bandwidth_Bps=uniq[:, 0:1], peak_for=peak_for, bandwidth_eff=req.stack.bandwidth,
                   compute_eff=req.stack.compute_efficiency, kernel_overhead_s=req.stack.kernel_overhead_s,
                   step_overhead_s=req.stack.step_overhead_s, format_for=lambda t: fmt[t.name])
    times = decode_times(req, temps, mach)
    total = np.sum(np.broadcast_to(times.total_s, (len(uniq), work.gen)), axis=1)
    shares = np.stack([np.sum(np.broadcast_to(x, (len(uniq), work.gen)), axis=1)
                       for x in (times.memory_s, times.compute_s, times.overhead_s)])
    bound = np.array([b.value for b in BOUND_ORDER[:3]])[np.argmax(shares, axis=0)]
    flops: dict[str, float] = {}
    nbytes = 0.0
    for t, (_, _, _, fl, by) in zip(temps, times.op_split):
        flops[fmt[t.name]] = flops.get(fmt[t.name], 0.0) + fl / len(uniq)
        nbytes += by / len(uniq)
    return total[inv], flops, nbytes, bound[inv]


def _op_energy(flops: dict, unit: str, arr_peak, vec_peak, pj_arr: float, pj_vec: float):
    served = set(served_formats(unit))
    e = np.zeros(np.shape(arr_peak))
    for f, n in flops.items():
        if f in served and f in ("fp32", "fp16", "bf16"):
            e = e + n * np.where(arr_peak >= vec_peak, pj_arr, pj_vec)
        else:
            e = e + n * (pj_arr if f in served else pj_vec)
    return e


def _sram_need(model: str, work: Workload, base: NpuDesign, d: NpuData, bw, macs):
    from simlow.specs import load_model

    m = load_model(model)
    row = work.batch * max(m.hidden_size, m.intermediate_size, m.q_dim) * 4
    wbits = weight_bits(make_unit(base.unit, d))
    return 2 * bw * d.dram_latency_s.value + 2 * macs * wbits / 8 + 2 * row
