"""Datapath units described by their parts, and their area, energy per op and max clock.

A unit is a frozen dataclass of the parameters that set its cost (operand bits,
accumulator width, shift range, second term on/off). ``structure(unit)`` lists its parts
as ``simlow.events`` events with how many instances exist (area) and how many fire per
operation (energy), plus its critical path as FO4 stages (``simlow.cost.delay``).
``unit_cost(unit, tech)`` prices the parts at a node.

Assumptions common to every unit (stated once here, repeated in reports):

- one operation (one MAC, or one lane add) per cycle per unit; every part that fires
  toggles as for random data (Accelergy's ``mac_random``), no data-dependent gating;
- weight-stationary: the weight (or code) register exists (area) but is not rewritten per
  operation (no energy); the activation register is rewritten each cycle;
- single-cycle unless ``pipelined``: the path runs from the input registers through the
  arithmetic into the accumulator register, plus the sequencing overhead ``T_SEQ``;
- area is the sum of the parts' primitive areas (no wiring, clock tree or control);
- a fused MAC is priced with the same multiplier + adder area as an unfused one (it trades
  the multiplier's final adder for one carry-save row of about the same size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import singledispatch

from simlow.cost import delay as D
from simlow.numerics import fp_format
from simlow.cost.pricing import Tech, event_area_um2, event_energy_pJ
from simlow.cost.scaling import fo4_ps
from simlow.errors import SimlowError
from simlow.events import Event, Op


def _check(**kw: int) -> None:
    for k, v in kw.items():
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise SimlowError(f"{k} must be a positive integer, got {v!r}")


@dataclass(frozen=True)
class IntMac:
    """``act_bits`` x ``weight_bits`` signed multiply into an ``acc_bits`` accumulator."""

    act_bits: int
    weight_bits: int
    acc_bits: int
    fused: bool = True        # accumulator merged into the multiplier's carry-save tree
    pipelined: bool = False   # a product register splits multiply and accumulate

    def __post_init__(self) -> None:
        _check(act_bits=self.act_bits, weight_bits=self.weight_bits, acc_bits=self.acc_bits)

    @property
    def product_bits(self) -> int:
        return self.act_bits + self.weight_bits


@dataclass(frozen=True)
class PotMac:
    """Power-of-two weight MAC: the ``act_bits`` signed activation shifted left by 0..
    ``shift_range``, conditionally negated (sign), gated (zero code) and accumulated.

    ``second_term`` adds a residual term w = s1 2^e1 + s2 2^e2: a second shifter, gate
    and negate, and one carry-save level that merges both terms with the accumulator
    before its adder (the cheapest standard way to add three operands). ``code_bits`` is the stored bits per term (weight register area).
    """

    act_bits: int
    shift_range: int
    acc_bits: int
    code_bits: int
    second_term: bool = False

    def __post_init__(self) -> None:
        _check(act_bits=self.act_bits, acc_bits=self.acc_bits, code_bits=self.code_bits)
        if isinstance(self.shift_range, bool) or not isinstance(self.shift_range, int) or self.shift_range < 0:
            raise SimlowError(f"shift_range must be an integer >= 0, got {self.shift_range!r}")

    @property
    def term_bits(self) -> int:
        """One shifted, negated term: act_bits + shift_range + 1 (negating the most negative code)."""
        return self.act_bits + self.shift_range + 1

    @property
    def product_bits(self) -> int:
        return self.term_bits + (1 if self.second_term else 0)


def pot_mac_for_code(code_bits: int, act_bits: int, acc_bits: int, second_term: bool = False) -> PotMac:
    """A PoT MAC for ``code_bits``-bit codes: 1 sign bit, and of the 2^(code_bits-1)
    magnitude codes one means zero, the others exponents 0..2^(code_bits-1)-2."""
    _check(code_bits=code_bits)
    if code_bits < 2:
        raise SimlowError(f"a PoT code needs >= 2 bits (sign + magnitude), got {code_bits}")
    return PotMac(act_bits, 2 ** (code_bits - 1) - 2, acc_bits, code_bits, second_term)


@dataclass(frozen=True)
class TernaryLane:
    """One lane of a ternary (-1/0/+1) dot product: negate and zero-gate the activation and
    feed one adder of the adder tree (a tree over N lanes has N - 1 adders, about one per
    lane; later, wider levels are not modelled). One tree level per cycle."""

    act_bits: int

    def __post_init__(self) -> None:
        _check(act_bits=self.act_bits)


@dataclass(frozen=True)
class FpMac:
    """``in_fmt`` x ``in_fmt`` product added into an ``acc_fmt`` accumulator (separate
    multiplier and adder; the product is rounded into ``acc_fmt``)."""

    in_fmt: str
    acc_fmt: str

    def __post_init__(self) -> None:
        fp_format(self.in_fmt), fp_format(self.acc_fmt)


FP8_MAC_NARROW_ACC = FpMac("e4m3", "e8m13")
BF16_MAC_FP32_ACC = FpMac("bf16", "fp32")


@dataclass(frozen=True)
class Part:
    label: str
    event: Event
    instances: int   # how many exist (area)
    per_op: int      # how many fire per operation (energy)


@dataclass(frozen=True)
class Structure:
    parts: tuple[Part, ...]
    path: tuple[tuple[str, float], ...]  # (stage, FO4) in series, sequencing included


@singledispatch
def structure(unit) -> Structure:
    raise SimlowError(f"no structural model for {type(unit).__name__}")


def _reg(label: str, bits: int, per_op: int = 1) -> Part:
    return Part(label, Event(Op.REG_WRITE, bits), 1, per_op)


@structure.register
def _(u: IntMac) -> Structure:
    parts = [_reg("activation register", u.act_bits), _reg("weight register", u.weight_bits, per_op=0),
             Part("multiplier", Event(Op.INT_MUL, u.act_bits, u.weight_bits), 1, 1),
             Part("accumulator adder", Event(Op.INT_ADD, u.acc_bits), 1, 1),
             _reg("accumulator register", u.acc_bits)]
    if u.pipelined:
        parts.append(_reg("product register", u.product_bits))
        mul = D.multiplier_fo4(u.act_bits, u.weight_bits)
        add = D.adder_fo4(u.acc_bits)
        stage = ("multiplier (slower stage)", mul) if mul >= add else ("accumulator adder (slower stage)", add)
        path = (stage,)
    elif u.fused:
        path = (("fused multiply-accumulate tree + adder", D.fused_mac_fo4(u.act_bits, u.weight_bits, u.acc_bits)),)
    else:
        path = (("multiplier", D.multiplier_fo4(u.act_bits, u.weight_bits)),
                ("accumulator adder", D.adder_fo4(u.acc_bits)))
    return Structure(tuple(parts), path + (("register overhead", D.T_SEQ),))


@structure.register
def _(u: PotMac) -> Structure:
    terms = 2 if u.second_term else 1
    w, r = u.term_bits, u.shift_range
    parts = [_reg("activation register", u.act_bits),
             Part("weight code register", Event(Op.REG_WRITE, u.code_bits), terms, 0),
             Part("barrel shifter", Event(Op.SHIFT, w, r), terms, terms),
             Part("zero gate", Event(Op.MUX, w), terms, terms),
             Part("conditional negate", Event(Op.NEGATE, w), terms, terms)]
    path = [("barrel shifter", D.shifter_fo4(r)), ("zero gate", D.T_GATE), ("conditional negate", D.T_GATE)]
    if u.second_term:
        # two terms + accumulator -> two rows: one carry-save level of acc_bits full adders,
        # priced as an acc_bits adder (a ripple adder is that many full-adder cells)
        parts.append(Part("carry-save row", Event(Op.INT_ADD, u.acc_bits), 1, 1))
        path.append(("carry-save row", D.T_FA))
    parts += [Part("accumulator adder", Event(Op.INT_ADD, u.acc_bits), 1, 1), _reg("accumulator register", u.acc_bits)]
    path += [("accumulator adder", D.adder_fo4(u.acc_bits)), ("register overhead", D.T_SEQ)]
    return Structure(tuple(parts), tuple(path))


@structure.register
def _(u: TernaryLane) -> Structure:
    w = u.act_bits
    parts = (_reg("activation register", w), _reg("weight code register", 2, per_op=0),
             Part("conditional negate", Event(Op.NEGATE, w), 1, 1), Part("zero gate", Event(Op.MUX, w), 1, 1),
             Part("adder tree adder", Event(Op.INT_ADD, w + 1), 1, 1), _reg("tree level register", w + 1))
    path = (("conditional negate", D.T_GATE), ("zero gate", D.T_GATE), ("adder tree level", D.adder_fo4(w + 1)),
            ("register overhead", D.T_SEQ))
    return Structure(parts, path)


@structure.register
def _(u: FpMac) -> Structure:
    fi, fa = fp_format(u.in_fmt), fp_format(u.acc_fmt)
    parts = (_reg("activation register", fi.bits), _reg("weight register", fi.bits, per_op=0),
             Part("fp multiplier", Event(Op.FP_MUL, fmt=fi.event_name), 1, 1),
             Part("fp accumulator adder", Event(Op.FP_ADD, fmt=fa.event_name), 1, 1),
             _reg("accumulator register", fa.bits))
    path = (("fp multiplier", D.fp_mul_fo4(fi.event_name)), ("fp accumulator adder", D.fp_add_fo4(fa.event_name)),
            ("register overhead", D.T_SEQ))
    return Structure(parts, path)


@dataclass(frozen=True)
class UnitCost:
    unit: object
    node_nm: int
    area_um2: float
    energy_pJ_per_op: float
    path_fo4: float
    delay_ps: float
    parts: tuple[tuple[str, str, float, float], ...]  # (label, event, area um2, energy pJ per op)
    path: tuple[tuple[str, float], ...]

    @property
    def fmax_Hz(self) -> float:
        return 1e12 / self.delay_ps


def unit_cost(unit, tech: Tech) -> UnitCost:
    """Area, energy per operation and critical-path delay of ``unit`` at ``tech``."""
    s = structure(unit)
    rows = []
    for p in s.parts:
        a = event_area_um2(tech, p.event).value * p.instances
        e = event_energy_pJ(tech, p.event).value * p.per_op
        rows.append((p.label, str(p.event), a, e))
    fo4 = math.fsum(f for _, f in s.path)
    return UnitCost(unit, tech.node_nm, math.fsum(r[2] for r in rows), math.fsum(r[3] for r in rows),
                    fo4, fo4 * fo4_ps(tech.node_nm, tech.scale), tuple(rows), s.path)
