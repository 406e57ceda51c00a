"""Power of a real device running a phase: static power, DRAM, compute and on-chip traffic,
under the board's power cap.

Per step of ``t`` seconds that moves ``B`` DRAM bytes and computes ``F`` ops::

    E_dyn   = 8 B x e_dram(type)            DRAM device energy per bit by memory type
            + 8 B x onchip_pJ_per_bit x s(node)
                                            each DRAM bit crossing the on-chip fabric (L2, NoC,
                                            shared memory / register file) on its way in; the
                                            constant is at 7 nm, s the Stillmaker energy factor
                                            of the node over 7 nm (``simlow.cost.scaling``);
                                            a spec's own ``power.onchip_energy_per_bit``
                                            replaces it (simlow's NPU designs: their SRAM)
            + F x e_op(format)              compute: the board's energy per op in the format the
                                            matmuls run in (below)
    P_act   = idle + units x clock x unit_cycle_pJ x s(node)
                                            power of the engine's units (SMs, CUs, cores) being
                                            clocked while kernels run, busy or stalled: the
                                            clock tree, pipeline registers, schedulers (a spec
                                            without units or clock, or an NPU engine, whose
                                            units are MACs: idle; ``active_w``)
    P       = P_act + E_dyn / t

and when ``P`` exceeds the cap (the spec's TDP: the board power limit) the clock throttles:
the step stretches until it draws the cap (``steps``, ``Step.stretch``). A prediction's step
times are its stack's, calibrated on measured speeds that boards reach under their cap, so a
prediction is priced at its own time with power held at the cap (``at_speed``): its tok/s and
J/token agree (J/token x tok/s = average W <= cap). Stretching the predicted times instead
moved the 87 of 768 throughput rows of ``simlow validate`` where it applies away from the
measurements (held-out decode median |error| 3.2% -> 10.6%, prefill 6.2% -> 11.4% on those
rows), so the stretch is reported (``<phase>_throttle``), not applied to speed.

``e_dram`` is the cost model's table (``simlow/data/cost/memory.yaml``) by the memory's
``type``; the spec's own ``energy_per_bit`` is used for a type the table lacks, and on a
simlow NPU design (device and engine kind npu: its figure is device + PHY). The two
global constants (``FITTED``: unit_cycle_pJ, onchip_pJ_per_bit) were fitted once, by
``simlow validate --energy --fit`` (``simlow.validation.energy.fit``), on the in-sample
devices named in ``FITTED.fitted_on`` only; nothing is fitted per device.

Compute energy per op is not the cost tables' MAC energy times a factor: those tables put an
fp16 MAC at 4.7x (bf16 3.6x) an int8 one at 7 nm, where boards run int8 at 2x their bf16 peak at the
same TDP, so operand delivery, not the multiplier, sets a board's energy per op. It is
taken from the spec instead: a board's whole dynamic budget goes to compute at its peak
dense rate in the format (assumed), so ``e_op(format) = (cap - idle) / peak(format)`` (a step
at peak rate then throttles, as boards do under dense GEMMs); format and node enter through
the spec's peak rates, and no constant is added. A spec without an idle power is taken at
10% of TDP (assumed); one without a node is taken at ``DEFAULT_NODE_NM`` (assumed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlow.errors import SimlowError
from simlow.specs.hardware import DeviceKind, EngineKind

IDLE_FRACTION = 0.10    # assumed idle power (fraction of TDP) when a spec gives none
DEFAULT_NODE_NM = 7     # assumed process node of a spec that gives none (on-chip energy scaling)
REFERENCE_NODE_NM = 7   # the node onchip_pJ_per_bit is stated at
# Memory types the cost table (simlow/data/cost/memory.yaml) has no row for, priced as a listed
# type (assumed: the nearest standard of the same family; the older one draws at least as much
# per bit, so these are low estimates). SRAM is on chip: no DRAM device energy.
TYPE_STANDIN = {"ddr4": "ddr5", "gddr5": "gddr6", "gddr5x": "gddr6x", "hbm3e": "hbm3", "lpddr5t": "lpddr5x"}
ON_CHIP_TYPES = ("sram",)
UNIT_CYCLE_PJ = 679.0   # fitted (678.8), see FITTED
ONCHIP_PJ = 16.1        # fitted (16.09), see FITTED


@dataclass(frozen=True)
class PowerConstants:
    """The power model's global constants and what they were fitted on."""

    unit_cycle_pJ: float       # active power per engine unit and clock cycle, at REFERENCE_NODE_NM
    onchip_pJ_per_bit: float   # on-chip fabric energy per DRAM bit moved, at REFERENCE_NODE_NM
    fitted_on: tuple[str, ...]  # hardware specs whose measured rows fitted these
    source: str


# Fitted by `simlow validate --energy --fit` (simlow.validation.energy.fit: non-negative least squares of
# the relative J/token error at the measured speed, every device weighted equally) on the in-sample rows
# of workloads/measured/energy_*.csv of the devices below; every other device there is held out. The
# on-chip term absorbs all energy that scales with bytes moved besides the DRAM device's: L2, NoC,
# shared memory and register file traffic and the load / dequantize instructions that move it.
FITTED = PowerConstants(
    unit_cycle_pJ=UNIT_CYCLE_PJ, onchip_pJ_per_bit=ONCHIP_PJ,
    fitted_on=("a100-40gb-sxm", "a100-80gb-sxm", "rtx-3090"),
    source="fitted on 22 rows, each device weighted equally: workloads/measured/energy_mlenergy_v2.csv "
           "(1x A100-SXM4-40GB, vLLM 0.5.4) and energy_meters.csv (A100 80GB, RTX 3090; vLLM, NVML)")


@dataclass(frozen=True)
class DevicePower:
    """A device's power model, resolved from its spec (watts, joules per bit / op)."""

    idle_w: float
    cap_w: float
    active_w: float
    dram_J_per_bit: float
    onchip_J_per_bit: float
    op_J: float                # board joules per op of the phase's matmul format

    def dynamic_J(self, nbytes, ops):
        """DRAM + on-chip + compute joules of moving ``nbytes`` and computing ``ops``."""
        bits = 8.0 * np.asarray(nbytes, dtype=np.float64)
        return bits * (self.dram_J_per_bit + self.onchip_J_per_bit) + np.asarray(ops, dtype=np.float64) * self.op_J

    def dram_J(self, nbytes):
        return 8.0 * np.asarray(nbytes, dtype=np.float64) * self.dram_J_per_bit


@dataclass(frozen=True)
class Step:
    """Energy and power of steps under the cap (arrays over steps)."""

    seconds: np.ndarray        # time after throttling (>= the unthrottled time)
    joules: np.ndarray
    stretch: np.ndarray        # seconds / unthrottled seconds (1 where under the cap)

    @property
    def watts(self) -> np.ndarray:
        return self.joules / self.seconds


def dram_J_per_bit(memory) -> float:
    """Energy per bit of ``memory``: the cost table's figure for its type (or its
    ``TYPE_STANDIN``), else the spec's own."""
    from simlow.cost.memory import load_memory

    kind = memory.type.lower().replace("-", "_")
    if kind in ON_CHIP_TYPES:
        return 0.0
    try:
        return load_memory().get(TYPE_STANDIN.get(kind, kind)).pJ_per_bit * 1e-12
    except SimlowError:
        if memory.energy_J_per_bit:
            return memory.energy_J_per_bit
        raise SimlowError(f"memory {memory.name!r} of type {memory.type!r}: no energy per bit in the cost "
                          "table (simlow/data/cost/memory.yaml) and none in the spec (energy_per_bit)") from None


def op_J(engine, fmt: str | None, headroom_w: float) -> float:
    """Board joules per op in ``fmt``: ``headroom_w`` (cap - idle power) over the engine's
    peak rate in it (its fastest rate when ``fmt`` has none)."""
    peak = engine.peak(fmt) if fmt is not None else 0.0
    if peak <= 0:
        peak = max(engine.peak_ops.values(), default=0.0)
    return headroom_w / peak if peak > 0 else 0.0


def active_w(hw, engine, idle: float, k: PowerConstants) -> float:
    """Power while ``engine`` runs kernels: idle + its units' clocked power (module docstring).

    An NPU engine's units are its MACs (thousands, not SM-sized units), so the per-unit
    constant, fitted on GPU SMs, does not apply: its clocked power is left to its energy per
    op (for a simlow NPU design the cost tables' all-busy power over its peak rate)."""
    if not engine.units or not engine.clock_hz or engine.kind is EngineKind.NPU:
        return idle
    return idle + engine.units * engine.clock_hz * k.unit_cycle_pJ * 1e-12 * wire_factor(hw)


def device_power(hw, engine, fmt: str | None, k: PowerConstants = FITTED) -> DevicePower:
    """The power model of ``engine`` of ``hw`` running matmuls in ``fmt``."""
    cap = hw.power.tdp_w
    idle = hw.power.idle_w if hw.power.idle_w is not None else IDLE_FRACTION * cap
    onchip = hw.power.onchip_J_per_bit
    if onchip is None:
        onchip = k.onchip_pJ_per_bit * 1e-12 * wire_factor(hw)
    memory = hw.memory(engine.memory)
    design = npu_design(hw, engine)
    # a simlow NPU design states its DRAM energy as device + PHY (simlow.npu.spec); the table has the device only
    dram = memory.energy_J_per_bit if design and memory.energy_J_per_bit else dram_J_per_bit(memory)
    return DevicePower(idle, cap, active_w(hw, engine, idle, k), dram, onchip,
                       op_J(engine, fmt, compute_headroom_w(hw, engine, cap - idle, memory, dram + onchip)))


def npu_design(hw, engine) -> bool:
    """Whether ``engine`` of ``hw`` is a simlow NPU design's array (device and engine kind npu),
    whose spec states its power as the sum of its cost-table parts (``simlow.npu.spec``)."""
    return hw.kind is DeviceKind.NPU and engine.kind is EngineKind.NPU


def compute_headroom_w(hw, engine, headroom_w: float, memory, J_per_bit: float) -> float:
    """The part of ``headroom_w`` (cap - idle) that pays for compute at peak rate.

    A board's TDP is a limit its compute alone reaches (dense GEMMs throttle): all of it.
    A simlow NPU design (device and engine kind npu) states its TDP as the sum of its parts,
    static + every unit busy + DRAM at peak bandwidth + SRAM absorbing that stream
    (``simlow.npu.design``), so the memory terms come off (else its ops were priced at its
    DRAM power over its peak rate: 1.5 pJ/op for a 768-unit PoT4 design whose tables say
    0.084 pJ for the array; 0.19 now, its array and vector lanes). ``J_per_bit`` is the design's DRAM
    (device + PHY) and SRAM energy per DRAM bit, as its TDP counts them."""
    if not npu_design(hw, engine):
        return headroom_w
    rest = headroom_w - 8.0 * memory.bandwidth_Bps * J_per_bit
    return rest if rest > 0 else headroom_w


def wire_factor(hw) -> float:
    """On-chip energy at ``hw``'s node over ``REFERENCE_NODE_NM`` (Stillmaker energy factors)."""
    from simlow.cost.scaling import stillmaker_energy_factor

    node = DEFAULT_NODE_NM if hw.node_m is None else int(min(45, max(3, round(hw.node_m * 1e9))))
    return stillmaker_energy_factor(node) / stillmaker_energy_factor(REFERENCE_NODE_NM)


def steps(dev: DevicePower, seconds, nbytes, ops) -> Step:
    """Steps of ``seconds`` moving ``nbytes`` and computing ``ops`` (arrays broadcast),
    throttled under the cap: power never exceeds ``dev.cap_w``.

    Throttling lowers the clock by ``r = (cap - idle) / (A + E_dyn / t)`` (``A`` the units'
    clocked power, ``active - idle``): the step takes ``t / r``, its clocked energy per cycle
    and its dynamic energy stay, and it draws the cap."""
    t = np.asarray(seconds, dtype=np.float64)
    dyn = dev.dynamic_J(nbytes, ops)
    clocked = dev.active_w - dev.idle_w
    demand = clocked + dyn / t                  # W above idle the step wants at full clock
    budget = dev.cap_w - dev.idle_w
    r = np.where(demand > budget, budget / np.maximum(demand, 1e-300), 1.0)
    t_cap = t / r
    joules = dev.idle_w * t_cap + clocked * t + dyn
    return Step(t_cap, joules, t_cap / t)


def at_speed(dev: DevicePower, seconds, nbytes, ops) -> np.ndarray:
    """Joules of steps that take ``seconds`` (a calibrated speed, reached under the cap):
    the power model's energy, at most the cap x the time (module docstring)."""
    return capped_J(dev, steps(dev, seconds, nbytes, ops), seconds)


def capped_J(dev: DevicePower, step: Step, seconds) -> np.ndarray:
    """``at_speed`` of steps already priced by ``steps`` (callers that also report the stretch)."""
    return np.minimum(step.joules, dev.cap_w * np.asarray(seconds, dtype=np.float64))
