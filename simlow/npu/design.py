"""An NPU as a frozen design, and what it costs: area, clock, peak rates, energy, power.

A design (``NpuDesign``) is ``arrays`` square MAC arrays of ``array_side`` x ``array_side``
units of one datapath unit (``UNIT_NAMES``), a vector unit of ``vector_lanes`` FP32 FMA
lanes (norms, softmax, rope, and matmuls the array cannot run), ``sram_bytes`` of on-chip
SRAM in banks, a DRAM interface (``simlow.npu.dram``), a node and a clock derating.
``evaluate(design) -> NpuCost`` prices it:

- **clock** = the design clock of the array unit at the node (``simlow.cost.clock``: the
  slowest of the logic path and the SRAM macro access, each + register overhead + skew margin
  + corner derating, and a floor fitted on TPU v1), at the design's supply ``vdd_V`` (None:
  the node's nominal), with the unit's logic cut into ``logic_stages`` and the global SRAM in
  banks of ``bank_bytes`` (None: npu.yaml's), or ``clock_Hz`` when given
  (an override), x ``clock_derate``. The
  unit's logic fmax (``simlow.cost.macs``, no margins) is reported beside it as ``fmax_Hz``.
  The vector lanes are pipelined into as many stages as their FP32 FMA path needs at that
  clock (64 register bits per stage boundary, ``npu.yaml``).
- **area** = the inventory of ``area_inventory``: MAC arrays, operand (skew) buffers and
  vector lanes x a standard-cell factor fitted on EvoApproxLib syntheses, SRAM macros
  (``simlow.cost.sram``: global banks and optional per-array scratchpads), interconnect,
  control, DRAM PHY (per 16-bit channel); ``on_chip`` leaves the PHY out.
- **peak ops/s** per compute format = 2 x units x clock for every format the unit serves
  (``served_formats``), and 2 x lanes x clock in fp32/fp16/bf16 for the vector unit (the
  larger of the two where both serve a format).
- **energy per op** = unit energy per MAC / 2 (one MAC = 2 ops); likewise for the lanes.
- **static power** = leakage per mm2 x area (logic from npu.yaml, SRAM from the macro model;
  PHY static not modelled).
- **TDP** = static + every unit and lane busy + DRAM at peak bandwidth (device + PHY energy
  per bit) + SRAM absorbing and re-reading that stream.

Assumptions are listed in ``ASSUMPTIONS`` and repeated in every generated spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from simlow.npu.dram import DramConfig
from simlow.npu.data import NpuData, load_npu_data
from simlow.cost.clock import DesignClock, design_clock
from simlow.cost.pricing import Tech, area_um2
from simlow.cost.scaling import BASE_NODE_NM, ScalingRule, check_node
from simlow.cost.sram import Macro, MacroCost, bank_area_um2, load_fit, macro_cost
from simlow.cost.macs import FpMac, IntMac, PotMac, TernaryLane, UnitCost, pot_mac_for_code, unit_cost
from simlow.cost.widthmodel import Shape
from simlow.errors import SimlowError, unknown_name

ACT_BITS = 8
VECTOR_FORMATS = ("fp32", "fp16", "bf16")
# name -> (builder(guard_bits), compute formats it serves, why)
_UNITS = {
    "int8": (lambda g: IntMac(8, 8, 16 + g), ("int8", "int4", "ternary"),
             "8x8 MAC: int8; int4 and ternary weights/activations sign-extended"),
    "int16": (lambda g: IntMac(16, 16, 32 + g), ("int8", "int4", "ternary"),
              "16x16 fixed-point MAC (Eyeriss-class): int8, int4 and ternary sign-extended"),
    "w4a8": (lambda g: IntMac(8, 4, 12 + g), ("int4", "ternary"), "4-bit weight x 8-bit activation MAC"),
    "int4": (lambda g: IntMac(4, 4, 8 + g), ("int4",), "4x4 MAC"),
    "pot3": (lambda g: _pot(3, False, g), ("pot", "ternary"), "3-bit PoT shift-add MAC (ternary = shift 0)"),
    "pot3r": (lambda g: _pot(3, True, g), ("pot", "ternary"), "3-bit PoT MAC with the residual second term"),
    "pot4": (lambda g: _pot(4, False, g), ("pot", "ternary"), "4-bit PoT shift-add MAC (ternary = shift 0)"),
    "pot4r": (lambda g: _pot(4, True, g), ("pot", "ternary"), "4-bit PoT MAC with the residual second term"),
    "ternary": (lambda g: TernaryLane(ACT_BITS), ("ternary",), "ternary lane: negate/gate + adder-tree add"),
    "fp8": (lambda g: FpMac("e4m3", "e8m13"), ("fp8",), "FP8 e4m3 MAC into a narrow e8m13 accumulator"),
    "bf16": (lambda g: FpMac("bf16", "fp32"), ("bf16",), "BF16 MAC into an FP32 accumulator"),
}
UNIT_NAMES = tuple(_UNITS)
VECTOR_UNIT = FpMac("fp32", "fp32")


def _pot(code_bits: int, second: bool, guard: int) -> PotMac:
    probe = pot_mac_for_code(code_bits, ACT_BITS, 1, second)
    return pot_mac_for_code(code_bits, ACT_BITS, probe.product_bits + guard, second)


def make_unit(name: str, data: NpuData | None = None):
    """The datapath unit object called ``name`` (accumulators: product + guard bits)."""
    if name not in _UNITS:
        raise unknown_name("NPU datapath unit", name, UNIT_NAMES)
    d = data or load_npu_data()
    return _UNITS[name][0](int(d.guard_bits.value))


def served_formats(name: str) -> tuple[str, ...]:
    """Compute formats (``simlow.specs.hardware.COMPUTE_FORMATS``) the array unit runs natively."""
    if name not in _UNITS:
        raise unknown_name("NPU datapath unit", name, UNIT_NAMES)
    return _UNITS[name][1]


def unit_for_format(fmt: str) -> str:
    """The default unit for a scheme whose matmuls run in ``fmt``."""
    table = {"pot": "pot4", "int8": "int8", "int4": "w4a8", "ternary": "ternary", "fp8": "fp8", "bf16": "bf16"}
    if fmt not in table:
        raise SimlowError(f"no NPU datapath unit runs compute format {fmt!r} (formats: {', '.join(table)})")
    return table[fmt]


@dataclass(frozen=True)
class NpuDesign:
    """A frozen NPU design (see the module docstring); ``why`` holds the reason for each
    choice (keys: node, dram, capacity, sram, clock, array, vector) for the spec's sources."""

    unit: str
    array_side: int
    arrays: int
    sram_bytes: int
    dram: DramConfig
    node_nm: int
    capacity_GB: float
    vector_lanes: int = 64
    clock_derate: float = 1.0
    rule: ScalingRule = ScalingRule.STILLMAKER
    clock_Hz: float | None = None          # override of the modelled design clock (before clock_derate)
    local_sram_bytes: int = 0              # a scratchpad of this size beside each array (16-bit words), 0: none
    local_reg_bytes: int = 0               # a register file of this size (flip-flops) beside each array, 0: none
    vdd_V: float | None = None             # the supply the design runs at (None: the node's nominal; simlow.cost.clock)
    logic_stages: int = 1                  # pipeline stages the array unit's path is cut into (simlow.cost.clock)
    bank_bytes: int | None = None          # global SRAM bank size (None: npu.yaml sram.bank_bytes)
    name: str = ""
    why: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.unit not in _UNITS:
            raise unknown_name("NPU datapath unit", self.unit, UNIT_NAMES)
        for k in ("array_side", "arrays", "sram_bytes", "vector_lanes"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise SimlowError(f"NPU design {k} must be a positive integer, got {v!r}")
        if not 0 < self.clock_derate <= 1:
            raise SimlowError(f"clock_derate must be in (0, 1], got {self.clock_derate!r}")
        if self.clock_Hz is not None and not (isinstance(self.clock_Hz, (int, float)) and 0 < self.clock_Hz < 1e11):
            raise SimlowError(f"clock_Hz must be a positive clock below 100 GHz, got {self.clock_Hz!r}")
        if not self.dram.width_bits:
            raise SimlowError(f"NPU design needs a DRAM bus width (got {self.dram.name})")
        for k, v in (("logic_stages", self.logic_stages), ("bank_bytes", 1 if self.bank_bytes is None else self.bank_bytes)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SimlowError(f"NPU design {k} must be a whole number >= 1, got {v!r}")
        if self.vdd_V is not None and not (isinstance(self.vdd_V, (int, float)) and 0 < self.vdd_V < 2):
            raise SimlowError(f"NPU design vdd_V must be a supply in (0, 2) V, got {self.vdd_V!r}")
        for k in ("local_sram_bytes", "local_reg_bytes"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise SimlowError(f"NPU design {k} must be a whole number >= 0, got {v!r}")
        if not self.capacity_GB > 0:
            raise SimlowError(f"capacity_GB must be > 0, got {self.capacity_GB!r}")
        check_node(self.node_nm)

    @property
    def macs(self) -> int:
        return self.array_side * self.array_side * self.arrays

    @property
    def label(self) -> str:
        return self.name or (f"npu-{self.unit}-{self.arrays}x{self.array_side}x{self.array_side}-"
                             f"{self.node_nm}nm-{self.dram.name}")

    def reason(self, key: str) -> str:
        return dict(self.why).get(key, "")

    def with_(self, **kw) -> "NpuDesign":
        return replace(self, **kw)


@dataclass(frozen=True)
class NpuCost:
    design: NpuDesign
    unit: UnitCost
    vector: UnitCost
    vector_stages: int
    clock_Hz: float
    area_mm2: dict
    peak_ops: dict                 # format -> ops/s
    pJ_per_op: dict                # format -> pJ per op on the engine that runs it
    sram_pJ_per_byte: float        # one byte written + read once (bank access energy / 8 x 2)
    sram_bandwidth_Bps: float
    dram_pJ_per_bit: float         # device + PHY
    static_W: float
    tdp_W: float
    tdp_parts_W: dict
    fmax_Hz: float = 0.0           # logic fmax of the array unit (no register overhead margin, skew, corner)
    clock_model: DesignClock | None = None

    @property
    def total_area_mm2(self) -> float:
        return self.area_mm2["total"]


def tech_of(design: NpuDesign) -> Tech:
    return Tech(design.node_nm, design.rule)


LOCAL_WIDTH_BITS = 16   # word of a per-array scratchpad (2 x ACT_BITS; an assumption of shape)


def cell_ratio(node_nm: int, data: NpuData | None = None) -> float:
    """High-density bit cell at ``node_nm`` / at 45 nm (npu.yaml), what ``simlow.cost.sram`` scales by."""
    d = data or load_npu_data()
    return d.bitcell(node_nm)[0] / d.bitcell(BASE_NODE_NM)[0]


def sram_area_mm2(sram_bytes, node_nm: int, data: NpuData | None = None, bank_bytes: int | None = None):
    """Area of ``sram_bytes`` (a number or a NumPy array) in banks of ``bank_bytes`` (default npu.yaml's;
    the bank count rounded up, the bytes spread evenly), each a ``simlow.cost.sram`` macro, mm2."""
    d = data or load_npu_data()
    banks = np.ceil(np.asarray(sram_bytes, dtype=float) / (bank_bytes or d.bank_bytes.value))
    bits = np.asarray(sram_bytes, dtype=float) * 8 / banks
    return banks * bank_area_um2(bits, d.bank_width_bits.value, node_nm, cell_ratio(node_nm, d)) / 1e6


def local_sram_area_mm2(arrays, local_bytes: int, node_nm: int, data: NpuData | None = None):
    """Area of one ``local_bytes`` scratchpad macro per array, mm2 (0 when there is none)."""
    if not local_bytes:
        return 0.0 * np.asarray(arrays)
    d = data or load_npu_data()
    return arrays * bank_area_um2(local_bytes * 8, LOCAL_WIDTH_BITS, node_nm, cell_ratio(node_nm, d)) / 1e6


def sram_bank(node_nm: int, sram_bytes: int | None = None, data: NpuData | None = None,
              bank_bytes: int | None = None) -> MacroCost:
    """One bank of the global SRAM (``bank_bytes``, default npu.yaml's, x ``bank_width_bits``, or all of a
    smaller SRAM)."""
    d = data or load_npu_data()
    bank = bank_bytes or int(d.bank_bytes.value)
    size = bank if sram_bytes is None else min(bank, sram_bytes)
    return macro_cost(Macro(size, int(d.bank_width_bits.value), node_nm), cell_ratio(node_nm, d))


def sram_access_pJ(tech: Tech, data: NpuData | None = None) -> tuple[float, float]:
    """(read, write) energy of one bank-width access of one bank, pJ (``simlow.cost.sram``)."""
    b = sram_bank(tech.node_nm, data=data)
    return b.read_pJ, b.write_pJ


def sram_access_ps(design: NpuDesign, data: NpuData | None = None) -> float:
    """Clock-to-data of the slowest SRAM macro of ``design`` (a global bank or a scratchpad)."""
    d = data or load_npu_data()
    t = sram_bank(design.node_nm, design.sram_bytes, d, design.bank_bytes).access_ps
    if design.local_sram_bytes:
        local = Macro(design.local_sram_bytes, LOCAL_WIDTH_BITS, design.node_nm)
        t = max(t, macro_cost(local, cell_ratio(design.node_nm, d)).access_ps)
    return t


def static_W(area: dict, data: NpuData | None = None):
    """Leakage: npu.yaml logic density x on-chip area other than SRAM and white space + the SRAM
    macros' density x SRAM area."""
    d = data or load_npu_data()
    logic = area["on_chip"] - area["sram"] - area["whitespace"]
    return d.logic_leak_W_per_mm2.value * logic + load_fit().leak_W_per_mm2 * area["sram"]


def register_file_um2(nbytes: int, node_nm: int) -> float:
    """One register file of ``nbytes`` in ``LOCAL_WIDTH_BITS`` words, bare table area: a flip-flop
    per bit (Aladdin register) and one read port, a tree of (words - 1) 2:1 muxes per bit
    (Aladdin bitwise-op proxy, primitives.yaml); the write-enable decoder is not priced."""
    if not nbytes:
        return 0.0
    tech = Tech(node_nm)
    words = math.ceil(nbytes * 8 / LOCAL_WIDTH_BITS)
    flops = nbytes * 8 * area_um2(tech, "reg", Shape(width=1)).value
    return flops + (words - 1) * area_um2(tech, "mux", Shape(width=LOCAL_WIDTH_BITS)).value


SKEW_REGISTERS = ("activation register", "accumulator register", "tree level register")


def area_inventory(side, arrays, lanes, sram_bytes, phy_channels, uc: UnitCost, lane_um2: float, node_nm: int,
                   d: NpuData, local_sram_bytes: int = 0, local_reg_bytes: int = 0,
                   bank_bytes: int | None = None) -> dict:
    """Area by part, mm2 (NumPy arrays or scalars for the design dimensions):

    - ``mac_arrays``: units x unit area (its input, weight and accumulator registers are the
      array's pipeline registers) x ``logic_area_factor``;
    - ``operand_buffers``: the skew registers of a systolic array, a triangle of side x
      (side - 1) / 2 activation registers on the input edge and as many accumulator
      registers on the output edge (Kung & Leiserson systolic skew; an assumption of shape);
    - ``vector``: the lanes; ``sram``: the global SRAM banks and any per-array scratchpads, each
      a ``simlow.cost.sram`` macro (bit cells + periphery);
    - ``register_files``: per-array register files (``register_file_um2``) x ``logic_area_factor``;
    - ``interconnect``: ``overhead_fraction`` x (all of the above);
    - ``control``: ``control_fraction`` and ``whitespace``: ``whitespace_fraction`` of the
      on-chip total (both from the TPU v1 floor plan);
    - ``dram_phy``: per 16-bit channel. ``total`` sums them; ``on_chip`` leaves the PHY out.
    """
    f = d.logic_area_factor.value
    skew_um2 = math.fsum(a for label, _, a, _ in uc.parts if label in SKEW_REGISTERS)
    a = {"mac_arrays": side * side * arrays * uc.area_um2 * f / 1e6,
         "operand_buffers": arrays * side * (side - 1) / 2 * skew_um2 * f / 1e6,
         "vector": lanes * lane_um2 * f / 1e6,
         "sram": sram_area_mm2(sram_bytes, node_nm, d, bank_bytes) + local_sram_area_mm2(arrays, local_sram_bytes, node_nm, d),
         "register_files": arrays * register_file_um2(local_reg_bytes, node_nm) * f / 1e6}
    parts = sum(a.values())
    a["interconnect"] = d.overhead_fraction.value * parts
    rest = parts + a["interconnect"]
    c, w = d.control_fraction.value, d.whitespace_fraction.value
    a["control"] = rest * c / (1 - c - w)
    a["whitespace"] = rest * w / (1 - c - w)
    a["on_chip"] = rest + a["control"] + a["whitespace"]
    a["dram_phy"] = phy_channels * d.phy_area_mm2_per_16bit.value
    a["total"] = a["on_chip"] + a["dram_phy"]
    return a


def design_clock_Hz(design: NpuDesign, uc: UnitCost) -> tuple[float, DesignClock]:
    """(clock the design runs at, the modelled design clock) for array unit cost ``uc``."""
    dc = design_clock(uc.path_fo4, design.node_nm, sram_access_ps(design), design.vdd_V, design.logic_stages)
    base = design.clock_Hz if design.clock_Hz is not None else dc.clock_Hz
    return base * design.clock_derate, dc


def evaluate(design: NpuDesign, data: NpuData | None = None) -> NpuCost:
    """Price ``design`` (see the module docstring for every rule)."""
    d = data or load_npu_data()
    tech = tech_of(design)
    uc, vc = unit_cost(make_unit(design.unit, d), tech), unit_cost(VECTOR_UNIT, tech)
    clock, dc = design_clock_Hz(design, uc)
    stages = max(1, math.ceil(vc.delay_ps * clock / 1e12 - 1e-9))
    reg_bit = area_um2(tech, "reg", Shape(width=1)).value
    lane_um2 = vc.area_um2 + (stages - 1) * d.vector_stage_register_bits.value * reg_bit
    area = area_inventory(design.array_side, design.arrays, design.vector_lanes, design.sram_bytes,
                          design.dram.channels(d), uc, lane_um2, design.node_nm, d, design.local_sram_bytes,
                          design.local_reg_bytes, design.bank_bytes)
    peak, pj = _rates(design, uc, vc, clock)
    bank = sram_bank(design.node_nm, data=d, bank_bytes=design.bank_bytes)
    rd, wr = bank.read_pJ, bank.write_pJ
    width_B = d.bank_width_bits.value / 8
    banks = max(1, math.ceil(design.sram_bytes / (design.bank_bytes or d.bank_bytes.value)))
    dram_pj = design.dram.device_pJ_per_bit() + d.phy_pJ_per_bit.value
    leak = float(static_W(area, d))
    bw = design.dram.bandwidth_Bps
    parts = {"static": leak,
             "arrays": 2 * design.macs * clock * uc.energy_pJ_per_op / 2 * 1e-12,
             "vector": 2 * design.vector_lanes * clock * vc.energy_pJ_per_op / 2 * 1e-12,
             "dram": bw * 8 * dram_pj * 1e-12,
             "sram": bw * (rd + wr) / width_B * 1e-12}
    return NpuCost(design, uc, vc, stages, clock, area, peak, pj, (rd + wr) / width_B, banks * width_B * clock,
                   dram_pj, leak, math.fsum(parts.values()), parts, uc.fmax_Hz, dc)


def _rates(design: NpuDesign, uc: UnitCost, vc: UnitCost, clock: float) -> tuple[dict, dict]:
    peak, pj = {}, {}
    for fmt in VECTOR_FORMATS:
        peak[fmt], pj[fmt] = 2.0 * design.vector_lanes * clock, vc.energy_pJ_per_op / 2
    for fmt in served_formats(design.unit):
        rate = 2.0 * design.macs * clock
        if rate > peak.get(fmt, 0.0):
            peak[fmt], pj[fmt] = rate, uc.energy_pJ_per_op / 2
    return peak, pj


ASSUMPTIONS = (
    "one MAC (2 ops) per unit per cycle and one FMA (2 ops) per vector lane per cycle, all at one clock",
    "clock = simlow.cost.clock: max(unit logic path or SRAM bank access, each + 4 FO4 register overhead, over 0.9 "
    "for skew/jitter, x 1.3 slow-corner derating; a floor of FO4 at the node's nominal supply fitted on TPU v1 "
    "700 MHz at 28 nm) x clock_derate, unless a clock is given; fmax_Hz is the unit's bare "
    "logic fmax",
    "vector lanes are FP32 FMA units pipelined to the clock (64 register bits per stage); they serve fp32, fp16 "
    "and bf16, so anything the array cannot run (attention on a PoT array, norms, softmax) runs there",
    "area = (MAC units + systolic skew registers + vector lanes + per-array register files with a read mux tree) x a standard-cell factor "
    "2.5 fitted on EvoApproxLib 45 nm syntheses + SRAM macros + 30% interconnect/clock tree (assumed) + 2% control and "
    "23.3% white space of the on-chip area (TPU v1 floor plan) + DRAM PHY",
    "SRAM: 32 KiB x 64-bit banks, each a simlow.cost.sram macro (area, access energy, access time, leakage fitted "
    "on 5 CACTI 45 nm macros, scaled by bit cell and logic factors); every DRAM byte is written once and read once "
    "(weight streaming), activations and partial sums are not priced",
    "static power = leakage per mm2 x area: logic at the Aladdin 40 nm adder/multiplier density, SRAM at the CACTI "
    "macros' density (both constant across nodes)",
    "energy per DRAM bit = device (memory.yaml) + PHY (npu.yaml); PHY static power and DRAM refresh not modelled",
    "TDP = static + every unit and lane busy + DRAM at peak bandwidth + SRAM absorbing that stream",
)
