"""The OrpQuant claim: PoT shift-add MAC arrays against INT4 / INT8 MAC arrays.

The OrpQuant article (unsigned) claims a PoT (with a residual second term) matrix unit "fits in
one third the area, and closes timing at twice the clock speed of a standard quantized MAC
array" at 28 nm. ``compare_macs`` answers with the structural model of
``simlow.cost.macs``; whatever it gives is the answer (nothing here is tuned to the claim).

Equal throughput is shown two ways: at a common clock (same number of units: the array
area ratio is the unit area ratio) and with each array at its own max clock (an array that
clocks faster needs proportionally fewer units: area ratio (A/f) / (A_ref/f_ref)).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from simlow.cost.pricing import Tech
from simlow.cost.macs import IntMac, PotMac, UnitCost, pot_mac_for_code, unit_cost
from simlow.errors import SimlowError

CLAIM = "one third the area and twice the clock of a standard quantized MAC array (28 nm)"
CLAIM_AREA_RATIO = 1 / 3
CLAIM_CLOCK_RATIO = 2.0


class IntStyle(enum.Enum):
    """How the INT baselines are built (the claim's 'standard quantized MAC array')."""

    FUSED = "fused"          # single cycle, accumulator merged into the carry-save tree
    UNFUSED = "unfused"      # single cycle, multiplier with its own final adder, then accumulator adder
    PIPELINED = "pipelined"  # product register between multiplier and accumulator


@dataclass(frozen=True)
class MacRow:
    name: str
    unit: str
    acc_bits: int
    area_um2: float
    energy_pJ_per_mac: float
    path_fo4: float
    fmax_GHz: float
    units_for_throughput: int
    array_area_mm2: float


@dataclass(frozen=True)
class RatioRow:
    design: str
    baseline: str
    area_ratio_same_clock: float
    clock_ratio: float
    area_ratio_equal_throughput_own_clock: float
    energy_ratio: float
    claim_area_met_same_clock: bool
    claim_clock_met: bool


@dataclass(frozen=True)
class MacComparison:
    node_nm: int
    rule: str
    act_bits: int
    int_style: str
    throughput_macs_per_s: float
    rows: tuple[MacRow, ...]
    ratios: tuple[RatioRow, ...]
    assumptions: tuple[str, ...]
    claim: str = CLAIM

    def to_dict(self) -> dict:
        from dataclasses import asdict
        return asdict(self)


def _acc(product_bits: int, guard_bits: int, acc_bits: int | None) -> int:
    return acc_bits if acc_bits is not None else product_bits + guard_bits


def _designs(act_bits: int, guard_bits: int, acc_bits: int | None, style: IntStyle) -> list[tuple[str, object]]:
    def int_mac(w: int) -> IntMac:
        acc = _acc(act_bits + w, guard_bits, acc_bits)
        return IntMac(act_bits, w, acc, fused=style is IntStyle.FUSED, pipelined=style is IntStyle.PIPELINED)

    def pot(code: int, second: bool) -> PotMac:
        probe = pot_mac_for_code(code, act_bits, 1, second)
        return pot_mac_for_code(code, act_bits, _acc(probe.product_bits, guard_bits, acc_bits), second)

    return [("INT8", int_mac(8)), ("INT4", int_mac(4)),
            ("PoT3", pot(3, False)), ("PoT3+residual", pot(3, True)),
            ("PoT4", pot(4, False)), ("PoT4+residual", pot(4, True))]


def compare_macs(tech: Tech, act_bits: int = 8, guard_bits: int = 8, acc_bits: int | None = None,
                 int_style: IntStyle = IntStyle.FUSED, array_macs: int = 4096) -> MacComparison:
    """PoT 3/4-bit MACs (with and without the residual term) against INT4 and INT8 MACs.

    Every design takes ``act_bits``-bit signed activations; INT4 is W4A``act_bits``. The
    accumulator is the product width plus ``guard_bits`` (2^guard_bits terms without
    overflow) unless ``acc_bits`` fixes it for all. Throughput: ``array_macs`` INT8 units
    at the INT8 max clock; every array is sized to match it at its own max clock.
    """
    if array_macs <= 0 or act_bits <= 0 or guard_bits < 0:
        raise SimlowError("compare_macs needs array_macs > 0, act_bits > 0, guard_bits >= 0")
    if not isinstance(int_style, IntStyle):
        raise SimlowError(f"int_style must be an IntStyle, got {int_style!r}")
    costs: list[tuple[str, UnitCost]] = [(n, unit_cost(u, tech)) for n, u in _designs(act_bits, guard_bits,
                                                                                    acc_bits, int_style)]
    throughput = array_macs * costs[0][1].fmax_Hz
    rows = []
    for name, c in costs:
        n = math.ceil(throughput / c.fmax_Hz - 1e-9)
        rows.append(MacRow(name, repr(c.unit), c.unit.acc_bits, c.area_um2, c.energy_pJ_per_op, c.path_fo4,
                           c.fmax_Hz / 1e9, n, n * c.area_um2 / 1e6))
    by = dict(costs)
    ratios = []
    for design in ("PoT3", "PoT3+residual", "PoT4", "PoT4+residual"):
        for base in ("INT4", "INT8"):
            d, b = by[design], by[base]
            area = d.area_um2 / b.area_um2
            clock = d.fmax_Hz / b.fmax_Hz
            ratios.append(RatioRow(design, base, area, clock, area / clock, d.energy_pJ_per_op / b.energy_pJ_per_op,
                                   area <= CLAIM_AREA_RATIO, clock >= CLAIM_CLOCK_RATIO))
    return MacComparison(tech.node_nm, tech.rule.value, act_bits, int_style.value, throughput, tuple(rows),
                         tuple(ratios), assumptions(act_bits, guard_bits, acc_bits, int_style))


def assumptions(act_bits: int, guard_bits: int, acc_bits: int | None, style: IntStyle) -> tuple[str, ...]:
    acc = f"fixed at {acc_bits} bits" if acc_bits is not None else f"product width + {guard_bits} guard bits"
    return (
        f"all designs take {act_bits}-bit signed activations; INT4 = 4-bit weights x {act_bits}-bit activations",
        f"accumulator width: {acc}",
        f"INT baselines: {style.value} ({IntStyle(style).name.lower()} multiply-accumulate, see IntStyle)",
        "PoT code: 1 sign bit + magnitude; one magnitude code is zero, the rest are exponents: "
        "3-bit -> shifts 0..2, 4-bit -> shifts 0..6",
        "PoT datapath: log barrel shifter of the activation, zero gate, conditional negate (XOR, +1 folded into "
        "the adder carry-in), accumulator adder; residual term: a second shifter/gate/negate and one carry-save "
        "level merging both terms with the accumulator before its adder",
        "per unit: activation register (rewritten every cycle), weight register (area only: weight-stationary), "
        "accumulator register; no SRAM, wiring, clock tree or control in the area",
        "energy per MAC: every part toggles once per MAC (random data, no zero skipping)",
        "areas and energies: Horowitz 45 nm adder/multiplier points (areas recalled, R), Aladdin 40 nm "
        "shifter/bitwise/register as ratios to the Aladdin adder (V), scaled to the node by Stillmaker & Baas",
        "delay: FO4 logical-depth model (simlow/cost/delay.py, all assumed): prefix adders, Dadda multiplier "
        "trees, log shifters, 3 FO4 register overhead; FO4 = assumed 20 ps at 45 nm x Stillmaker HP delay fit",
        "absolute max clocks ignore wire delay, clock skew and library derating, so the GHz figures are "
        "optimistic; the ratios between designs are the result",
        "equal throughput at a common clock = equal unit count (area ratio = unit area ratio); at each "
        "array's own max clock the faster array needs fewer units (area ratio / clock ratio)",
        "no published 28 nm synthesis of PoT vs INT MACs was found; these ratios are model "
        "outputs, not measurements",
    )
