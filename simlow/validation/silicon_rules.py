"""Which rows of ``silicon_published.csv`` simlow predicts, how, and in what role.

One ``Rule`` per predicted figure (a composite CSV value can carry several). The designs
are ``simlow.npu.design.NpuDesign`` shaped like the chip from the chip's own rows (MAC
count as square arrays, SRAM, node); the DRAM interface is irrelevant to the on-chip
figures compared (the PHY is left out of every area compared here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from simlow.cost import delay as D
from simlow.cost.clock import design_clock
from simlow.cost.macs import IntMac, unit_cost
from simlow.cost.pricing import Tech, area_um2, energy_pJ
from simlow.cost.scaling import MAX_NODE_NM, MIN_NODE_NM, fo4_ps
from simlow.cost.widthmodel import Shape
from simlow.npu.data import load_npu_data
from simlow.cost.sram import Macro, macro_cost
from simlow.npu.design import NpuDesign, cell_ratio, evaluate
from simlow.npu.dram import parse_dram
from simlow.validation.silicon import Kind, Published, Role

MiB = 1 << 20
FITTED = ("simlow.cost.clock.FLOOR_FO4 (the clock floor, in FO4 at each node's nominal supply) is fitted on one "
          "row, TPUv1 / clock (700 MHz at 28 nm; its supply is not published, so at nominal); Eyeriss v1's clock is held "
          "out. A design's supply, logic stages and SRAM banking are inputs read from its own rows (Eyeriss v1: "
          "1.17 V, 2 MAC stages, 4 KB banks), never fitted",
          "simlow.cost.sram (SRAM macro area, access energy, access time, leakage) is fitted on the 5 CACTI 45 nm "
          "macros of simlow/data/cost/sram.yaml (not chips); the Horowitz 45 nm and TPUv4i 7 nm SRAM energies are "
          "held out against it",
          "npu.yaml design.logic_area_factor (2.50) is fitted on the 16 EvoApproxLib exact multiplier/adder area rows "
          "(median of published / table area); it scales every logic area of a design and the unit areas shown",
          "npu.yaml design.whitespace_fraction (0.233) is read off TPU v1's floor-plan caption (the 21% of the die "
          "it assigns to no block, over the 90% that is not I/O), not fitted on any chip's area",
          "everything else comes from the cost tables (primitives.yaml, scaling.yaml, npu.yaml) as they stand; anchor "
          "rows are the tables' own sources; no chip area is fitted; every chip other than TPUv1 is wholly held "
          "out (TPUv1's other figures are shown held out, but its busy power and vector pipeline depth depend on the "
          "fitted clock)",
          "the Aladdin shifter and register rows are anchors as ratios to the Aladdin 32-bit adder (primitives.yaml "
          "library_ref), so their absolute values follow the Horowitz adder and differ from Aladdin's by that ratio")


@dataclass(frozen=True)
class Rule:
    chip: str
    figure: str
    kind: Kind
    role: Role
    unit: str
    predict: Callable[[], tuple[float, str]]
    index: int = 0
    label: str = ""
    published: Callable[[dict], float] | None = None


def _area(node: int, prim: str, **shape) -> Callable[[], tuple[float, str]]:
    def f():
        e = area_um2(Tech(node), prim, Shape(**shape))
        return e.value, f"{prim} {Shape(**shape).describe()} at {node} nm: {e.basis}"
    return f


def _cell_area(node: int, prim: str, **shape) -> Callable[[], tuple[float, str]]:
    """A primitive's area as an NPU design prices logic: table area x logic_area_factor (npu.yaml)."""
    def f():
        e = area_um2(Tech(node), prim, Shape(**shape))
        k = load_npu_data().logic_area_factor.value
        return e.value * k, f"{prim} {Shape(**shape).describe()} at {node} nm: {e.value:.4g} um2 x logic_area_factor {k:g}"
    return f


def _sram_energy(node: int, capacity: int, width: int = 64) -> Callable[[], tuple[float, str]]:
    def f():
        m = macro_cost(Macro(capacity, width, node), cell_ratio(node))
        return m.read_pJ, (f"simlow.cost.sram macro {capacity} B x {width} bits at {node} nm: {m.read_pJ:.3g} pJ "
                           f"per read, {m.access_ps:.0f} ps access, {m.area_um2 / 1e6:.3g} mm2")
    return f


def _energy(node: int, prim: str, **shape) -> Callable[[], tuple[float, str]]:
    def f():
        e = energy_pJ(Tech(node), prim, Shape(**shape))
        return e.value, f"{prim} {Shape(**shape).describe()} at {node} nm: {e.basis}"
    return f


def _mul_delay(a: int, b: int) -> Callable[[], tuple[float, str]]:
    def f():
        fo4 = D.multiplier_fo4(a, b)
        return fo4 * fo4_ps(45) / 1e3, f"multiplier_fo4({a},{b}) = {fo4} FO4 x {fo4_ps(45):.3g} ps (45 nm FO4)"
    return f


def _add_delay(w: int) -> Callable[[], tuple[float, str]]:
    def f():
        fo4 = D.adder_fo4(w)
        return fo4 * fo4_ps(45) / 1e3, f"adder_fo4({w}) = {fo4} FO4 x {fo4_ps(45):.3g} ps (45 nm FO4)"
    return f


def design(unit: str, arrays: int, side: int, sram_MiB: float, node: int, lanes: int = 64,
           local_bytes: int = 0, local_regs: int = 0, **inputs) -> NpuDesign:
    """A design shaped like a chip; ``inputs`` are the clock and SRAM inputs the chip's rows publish
    (``vdd_V``, ``logic_stages``, ``bank_bytes``: ``simlow.npu.design.NpuDesign``)."""
    return NpuDesign(unit, side, arrays, int(sram_MiB * MiB), parse_dram("lpddr4x-4266x64"), node, 8.0, lanes,
                     local_sram_bytes=local_bytes, local_reg_bytes=local_regs, **inputs)


def _shape(d: NpuDesign) -> str:
    return f"{d.arrays}x{d.array_side}x{d.array_side} {d.unit}, {d.sram_bytes / MiB:g} MiB SRAM, {d.node_nm} nm"


def _on_chip_area(d: NpuDesign) -> Callable[[], tuple[float, str]]:
    def f():
        a = evaluate(d).area_mm2
        parts = ", ".join(f"{k} {v:.3g}" for k, v in a.items() if k not in ("total", "dram_phy", "on_chip"))
        return a["on_chip"], f"simlow.npu.design on-chip area of {_shape(d)} ({parts} mm2)"
    return f


def _clock(d: NpuDesign, scale: float) -> Callable[[], tuple[float, str]]:
    def f():
        c = evaluate(d)
        m = c.clock_model
        vdd = "nominal supply" if d.vdd_V is None else f"{d.vdd_V:g} V"
        return c.clock_Hz / scale, (f"simlow.npu.design clock of {_shape(d)} ({m.bound}-bound at {vdd}, "
                                    f"{d.logic_stages} logic stage(s); unit logic fmax {c.fmax_Hz / 1e9:.3g} GHz, "
                                    f"logic bound {1e3 / m.logic_cycle_ps:.3g} GHz, SRAM bank bound "
                                    f"{m.sram_bound_Hz / 1e9:.3g} GHz, floor {1e3 / m.floor_cycle_ps:.3g} GHz)")
    return f


def _unit_clock(unit, node: int, scale: float, sram: Macro | None = None) -> Callable[[], tuple[float, str]]:
    """The design clock of one unit, with the access time of ``sram`` (one bank) when given."""
    def f():
        uc = unit_cost(unit, Tech(node))
        access = macro_cost(sram, cell_ratio(node)).access_ps if sram else 0.0
        dc = design_clock(uc.path_fo4, node, access)
        bank = f", {sram.capacity_bytes} B x {sram.width_bits}-bit bank {access:.0f} ps" if sram else ", no SRAM"
        return dc.clock_Hz / scale, (f"simlow.cost.clock design clock of {unit} at {node} nm ({dc.bound}-bound; "
                                     f"logic fmax {dc.fmax_Hz / 1e9:.3g} GHz, {uc.path_fo4} FO4{bank})")
    return f


def _tpu1_ratio() -> tuple[float, str]:
    a = evaluate(TPU1).area_mm2
    ub = a["sram"] * 24 / 28
    mxu = a["mac_arrays"] + a["operand_buffers"]
    return mxu / ub, (f"MAC array + operand buffers {mxu:.3g} mm2 / unified-buffer share (24 of 28 MiB) of SRAM "
                      f"{ub:.3g} mm2 in {_shape(TPU1)}")


def _eyeriss_storage_share() -> tuple[float, str]:
    a = evaluate(EYERISS).area_mm2
    store = a["sram"] + a["register_files"]
    return 100 * store / a["on_chip"], (f"(SRAM macros {a['sram']:.3g} + PE register files {a['register_files']:.3g} "
                                        f"mm2) / on-chip {a['on_chip']:.3g} mm2 of {_shape(EYERISS)}")


def _tpu1_power() -> tuple[float, str]:
    c = evaluate(TPU1)
    p = c.tdp_parts_W["static"] + c.tdp_parts_W["arrays"]
    return p, f"static + every MAC busy at {c.clock_Hz / 1e6:.0f} MHz in {_shape(TPU1)} (no DRAM, no SRAM reads)"


TPU1 = design("int8", 1, 256, 28, 28)
FSD = design("int8", 1, 96, 32, 14)
ARM_ML = design("int8", 2, 32, 1, 7)
TPU4I = design("bf16", 4, 128, 128, 7)
TPU4 = design("bf16", 8, 128, 128, 7)
GEMMINI = design("int8", 1, 16, 0.25, 7)
# Eyeriss v1: 168 PEs (not a systolic square: 168 arrays of one unit, so no skew registers), a 108 KB global
# buffer, and per PE a 448 B filter scratchpad (SRAM macro) and 72 B of ifmap/psum scratchpads (registers, as the
# JSSC 2017 spec table says), no FP32 vector unit (one lane, the design's minimum). Its published clock inputs
# (rows 'core supply range', 'PE pipeline', 'global buffer banks'): the top clock (250 MHz) at the top core
# supply (1.17 V; pairing the two ends of the ranges is an assumption), the MAC's logic in two stages (multiply,
# accumulate; the spad access is the third stage, the SRAM bound), the global buffer in 4 KB x 64-bit banks
EYERISS = design("int16", 168, 1, 108 * 1024 / MiB, 65, lanes=1, local_bytes=448, local_regs=72,
                 vdd_V=1.17, logic_stages=2, bank_bytes=4096)
# DianNao: 256 16-bit multiplier-adders (16 x 16, adder trees, not systolic: no skew registers), 36 KB of buffers;
# ShiDianNao: an 8 x 8 mesh of 16-bit PEs with neighbour forwarding (priced as one systolic square), 288 KB
# DianNao's NFU pipeline (row 'NFU pipeline', R): the multiply (NFU-1) and the adder tree (NFU-2) are separate
# stages, so the MAC's logic is in two
DIANNAO = design("int16", 256, 1, 36 * 1024 / MiB, 65, lanes=1, logic_stages=2)
SHIDIANNAO = design("int16", 1, 8, 288 * 1024 / MiB, 65, lanes=1)
_DN, _SDN = "DianNao (ASPLOS 2014)", "ShiDianNao (ISCA 2015)"


def _after_eq(key: tuple[str, str]) -> Callable[[dict], float]:
    """The published value of ``"3.5 x 3.5 (=12.25)"``: the number after '='."""
    return lambda rows: float(rows[key].value.split("=")[1].rstrip(")"))


def _range_top(key: tuple[str, str]) -> Callable[[dict], float]:
    """The top of a published range ``"100-250"`` (the clock timing closed at)."""
    return lambda rows: float(rows[key].value.split("-")[1])

_HZ = "Horowitz 45 nm table (ISSCC 2014)"
_AL = "Aladdin FU library (commercial 40 nm)"
_EV = "EvoApproxLib exact "
A, H, B, F = Role.ANCHOR, Role.HELD_OUT, Role.BOUND, Role.FITTED
UA, UE, UD = Kind.UNIT_AREA, Kind.UNIT_ENERGY, Kind.UNIT_DELAY


def _evo(name: str, a: int, b: int) -> list[Rule]:
    return [Rule(_EV + name, "power / area / delay", UA, F, "um2", _cell_area(45, "int_mul", width=a, width2=b), 1),
            Rule(_EV + name, "power / area / delay", UD, H, "ns", _mul_delay(a, b), 2)]


def _evo_areas(name: str, shapes: list[tuple[int, int]], prim: str = "int_mul") -> list[Rule]:
    out = []
    for i, (a, b) in enumerate(shapes):
        shape = dict(width=a, width2=b) if prim == "int_mul" else dict(width=a)
        out.append(Rule(_EV + name, "area", UA, F, "um2", _cell_area(45, prim, **shape), i,
                        f"{a}x{b}" if prim == "int_mul" else f"{a}-bit"))
    return out


RULES: tuple[Rule, ...] = (
    # Horowitz 45 nm: the anchors of primitives.yaml (reproduced by construction)
    Rule(_HZ, "8b int add energy / area", UE, A, "pJ", _energy(45, "int_add", width=8), 0),
    Rule(_HZ, "8b int add energy / area", UA, A, "um2", _area(45, "int_add", width=8), 1),
    Rule(_HZ, "8b int mult energy / area", UE, A, "pJ", _energy(45, "int_mul", width=8, width2=8), 0),
    Rule(_HZ, "8b int mult energy / area", UA, A, "um2", _area(45, "int_mul", width=8, width2=8), 1),
    Rule(_HZ, "32b int add / 32b int mult", UE, A, "pJ", _energy(45, "int_add", width=32), 0, "add"),
    Rule(_HZ, "32b int add / 32b int mult", UA, A, "um2", _area(45, "int_add", width=32), 1, "add"),
    Rule(_HZ, "32b int add / 32b int mult", UE, A, "pJ", _energy(45, "int_mul", width=32, width2=32), 2, "mult"),
    Rule(_HZ, "32b int add / 32b int mult", UA, A, "um2", _area(45, "int_mul", width=32, width2=32), 3, "mult"),
    *(Rule(_HZ, f"{f} add / {f} mult", k, A, u, fn(45, p, fmt=f), i, lab)
      for f in ("fp16", "fp32")
      for i, (k, u, fn, p, lab) in enumerate(((UE, "pJ", _energy, "fp_add", "add"), (UA, "um2", _area, "fp_add", "add"),
                                               (UE, "pJ", _energy, "fp_mul", "mult"), (UA, "um2", _area, "fp_mul", "mult")))),
    *(Rule(_HZ, "SRAM 64-bit read 8 KB / 32 KB / 1 MB", Kind.SRAM_ENERGY, H, "pJ", _sram_energy(45, cap), i, lab)
      for i, (cap, lab) in enumerate(((8192, "8 KB"), (32768, "32 KB"), (1 << 20, "1 MB")))),
    # Aladdin 40 nm: the shifter and register rows are anchors (normalised by the Aladdin adder)
    Rule(_AL, "32-bit integer multiplier energy / area", UE, H, "pJ", _energy(40, "int_mul", width=32, width2=32), 0),
    Rule(_AL, "32-bit integer multiplier energy / area", UA, H, "um2", _cell_area(40, "int_mul", width=32, width2=32), 1),
    Rule(_AL, "32-bit integer adder energy / area", UE, H, "pJ", _energy(40, "int_add", width=32), 0),
    Rule(_AL, "32-bit integer adder energy / area", UA, H, "um2", _cell_area(40, "int_add", width=32), 1),
    Rule(_AL, "32-bit shifter (Shl/LShr/AShr) energy / area", UE, A, "pJ", _energy(40, "shift", width=32, width2=31), 0),
    Rule(_AL, "32-bit shifter (Shl/LShr/AShr) energy / area", UA, A, "um2", _area(40, "shift", width=32, width2=31), 1),
    Rule(_AL, "register energy / area per bit", UE, A, "pJ", _energy(40, "reg", width=1), 0),
    Rule(_AL, "register energy / area per bit", UA, A, "um2", _area(40, "reg", width=1), 1),
    # EvoApproxLib (FreePDK45 synthesis): held out
    *_evo("8x8 unsigned multiplier (mul8u_1JFF)", 8, 8),
    *_evo("8x8 signed multiplier (mul8s_1KV8)", 8, 8),
    *_evo("8x4 unsigned multiplier (mul8x4u_2UU)", 8, 4),
    *_evo("8x2 unsigned multiplier (mul8x2u_106)", 8, 2),
    *_evo_areas("8x3 / 8x5 / 8x6 / 8x7 unsigned multipliers", [(8, 3), (8, 5), (8, 6), (8, 7)]),
    *_evo_areas("16x16 unsigned / signed multiplier", [(16, 16), (16, 16)]),
    *_evo_areas("12x12 / 11x11 / 7x7 unsigned multipliers", [(12, 12), (11, 11), (7, 7)]),
    Rule(_EV + "8-bit unsigned adder (add8u_0FP)", "power / area / delay", UA, F, "um2", _cell_area(45, "int_add", width=8),
         1),
    Rule(_EV + "8-bit unsigned adder (add8u_0FP)", "power / area / delay", UD, H, "ns", _add_delay(8), 2),
    *_evo_areas("12-bit / 16-bit unsigned adders", [(12, 0), (16, 0)], prim="int_add"),
    # TPUv4i 7 nm figures: held out under the stillmaker rule (the jouppi7 rule is built from this table);
    # the SRAM energies against the macro model (simlow.cost.sram)
    *(Rule("TPUv4i (Jouppi et al. ISCA 2021) Table 2", "7 nm SRAM 64-bit access 8 KB / 32 KB / 1 MB",
           Kind.SRAM_ENERGY, H, "pJ", _sram_energy(7, cap), i, lab)
      for i, (cap, lab) in enumerate(((8192, "8 KB"), (32768, "32 KB"), (1 << 20, "1 MB")))),
    Rule("TPUv4i (Jouppi et al. ISCA 2021) Table 2", "7 nm fp32 add / fp32 mult (as relayed)", UE, H, "pJ",
         _energy(7, "fp_add", fmt="fp32"), 0, "add"),
    Rule("TPUv4i (Jouppi et al. ISCA 2021) Table 2", "7 nm fp32 add / fp32 mult (as relayed)", UE, H, "pJ",
         _energy(7, "fp_mul", fmt="fp32"), 1, "mult"),
    # whole designs shaped like the chip
    Rule("TPUv1", "clock", Kind.CLOCK, Role.FITTED, "MHz", _clock(TPU1, 1e6)),
    Rule("TPUv1", "die area upper bound", Kind.CHIP_AREA, B, "mm2", _on_chip_area(TPU1)),
    Rule("TPUv1", "floorplan: matrix multiply unit", Kind.AREA_RATIO, H, "MXU / unified buffer", _tpu1_ratio,
         published=lambda rows: 24 / 29),
    Rule("TPUv1", "measured busy power per die", Kind.POWER, H, "W", _tpu1_power),
    Rule("Tesla FSD chip (HW3)", "NPU array / clock / peak per NPU", Kind.CLOCK, H, "GHz", _clock(FSD, 1e9), 1),
    Rule("Arm ML Processor (Project Trillium / later Ethos-N77)", "target area / efficiency / throughput",
         Kind.CHIP_AREA, H, "mm2", _on_chip_area(ARM_ML), 0),
    Rule("Arm ML Processor (Project Trillium / later Ethos-N77)", "target area / efficiency / throughput",
         Kind.CLOCK, H, "GHz", _clock(ARM_ML, 1e9), label="clock ('4 TOP/s at 1 GHz')", published=lambda rows: 1.0),
    Rule("TPUv4i", "clock / TDP / structure", Kind.CLOCK, H, "MHz", _clock(TPU4I, 1e6), 0),
    Rule("TPUv4i", "die area upper bound / transistors", Kind.CHIP_AREA, B, "mm2", _on_chip_area(TPU4I),
         published=lambda rows: 400.0),
    Rule("TPUv4", "die area upper bound / transistors / clock", Kind.CLOCK, H, "MHz", _clock(TPU4, 1e6), 2),
    Rule("Pixel Visual Core (Google IPU)", "clock", Kind.CLOCK, H, "MHz", _unit_clock(IntMac(16, 16, 32), 28, 1e6,
                                                                                   Macro(16384, 128, 28))),
    Rule("Eyeriss v1", "core area", Kind.CHIP_AREA, H, "mm2", _on_chip_area(EYERISS),
         published=_after_eq(("Eyeriss v1", "core area"))),
    Rule("Eyeriss v1", "area share of on-chip storage (GLB + PE spads)", Kind.AREA_RATIO, H, "% of area",
         _eyeriss_storage_share),
    Rule("Eyeriss v1", "core clock range", Kind.CLOCK, H, "MHz", _clock(EYERISS, 1e6), label="top of range",
         published=_range_top(("Eyeriss v1", "core clock range"))),
    Rule(_DN, "throughput / area / power (post-layout)", Kind.CHIP_AREA, H, "mm2", _on_chip_area(DIANNAO), 2),  # "GOP/s" splits
    Rule(_DN, "NFU multipliers / on-chip buffers / clock", Kind.CLOCK, H, "GHz", _clock(DIANNAO, 1e9), 2),
    Rule(_SDN, "area / power (post-layout)", Kind.CHIP_AREA, H, "mm2", _on_chip_area(SHIDIANNAO), 0),
    Rule(_SDN, "PEs / on-chip buffers / clock", Kind.CLOCK, H, "GHz", _clock(SHIDIANNAO, 1e9), 2),
    Rule("Gemmini 16x16 MeshWithDelays (OpenROAD demo)", "ASAP7 design area / fmax through global route",
         Kind.CLOCK, H, "MHz", _unit_clock(IntMac(8, 8, 32), 7, 1e6), 1),
)

_REASONS = {
    "power / area / delay": "power in mW at an unstated clock and switching activity: no energy per operation to compare",
    "area share of MAC datapath (multipliers+adders)": "a share of the die, not an area: the design prices parts, "
                                                       "but Eyeriss's 'MAC datapath' boundary is not the design's",
}
_NO_STRUCTURE = {
    "DianNao (ASPLOS 2014)": "a structural figure of DianNao: an input of the DianNao-shaped design",
    "ShiDianNao (ISCA 2015)": "a structural figure of ShiDianNao: an input of the ShiDianNao-shaped design",
    "UNPU (KAIST JSSC 2019)": "bit-serial LUT processing elements: no simlow datapath unit is shaped like them",
    "Eyeriss v2": "a workload throughput and energy (sparse MobileNet), not a cost figure; no area or clock given",
    "Eyeriss (ISCA 2016 Table IV)": "energy ratios to an ALU op, not a cost figure the model produces",
}


def reason_unpredicted(row: Published) -> str:
    """Why ``row`` has no prediction."""
    if row.node_nm is not None and row.node_nm > MAX_NODE_NM:
        return (f"{row.node_nm} nm is outside the cost model's node range ({MIN_NODE_NM}-{MAX_NODE_NM} nm): "
                "no scaling data shipped above it")
    if row.chip in _NO_STRUCTURE:
        return _NO_STRUCTURE[row.chip]
    if row.figure in _REASONS:
        return _REASONS[row.figure]
    if row.chip == "Eyeriss v1":
        return ("a structural or measured-workload figure of Eyeriss v1: an input of the Eyeriss-shaped design, or not "
                "a cost (the die size includes the pad ring; the core area is compared)")
    if row.chip == "TPUv1":
        return "a structural or measured-workload figure of TPU v1: an input of the TPU-shaped design, or not a cost"
    if row.node_nm is None:
        return "no process node published, so nothing can be priced at it"
    if "Simba" in row.chip:
        return "the chiplet's MAC count and SRAM are not in the table, so no design can be shaped like it"
    return ("not a figure the cost model produces (it predicts unit area, energy and delay, SRAM access energy, and a "
            "design's on-chip area, clock and full-activity power), or the structure needed to shape a design is missing")
