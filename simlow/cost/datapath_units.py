"""The cost model's MAC for a datapath unit: a datapath is described once
(``simlow.datapath.configs``, the configs the bit-exact models run) and priced from that
same config.

``mac_of(unit)`` reads the widths the hardware needs off the datapath config:

=====================  ============================================================
datapath config         cost structure (``simlow.cost.macs``)
=====================  ============================================================
``IntMacUnit``          ``IntMac(a_bits, w_bits, acc_bits)`` (fused accumulator)
``ShiftAddUnit``        ``PotMac``: ``a_bits``, the unit's ``shift_range``, ``acc_bits``;
                        code bits per term = sign + the bits that number the exponents
                        ``exp_min..exp_max`` and a zero code; a second term when
                        ``terms == 2`` (APoT and the residual lattice)
``TernaryTreeUnit``     ``TernaryLane(a_bits)``
``FpMacUnit``           ``FpMac(fmt, fp32)``
``FpNarrowAccUnit``     ``FpMac(a_fmt, e8m{frac_bits})``: the accumulator keeps
                        ``frac_bits`` fraction bits (the layouts in ``simlow.numerics``)
=====================  ============================================================

A unit the cost model has no structure for (the ternary LUT MAC) is a ``SimlowError``
saying so, not a guess.
"""

from __future__ import annotations

import math

from simlow.cost.macs import FpMac, IntMac, PotMac, TernaryLane, UnitCost, unit_cost
from simlow.cost.pricing import Tech
from simlow.datapath.configs import FpMacUnit, FpNarrowAccUnit, IntMacUnit, ShiftAddUnit, TernaryTreeUnit
from simlow.errors import SimlowError
from simlow.numerics import FLOAT_LAYOUTS


def mac_of(unit) -> IntMac | PotMac | TernaryLane | FpMac:
    """The cost structure of datapath config ``unit`` (see the module docstring)."""
    if isinstance(unit, IntMacUnit):
        return IntMac(unit.a_bits, unit.w_bits, unit.acc_bits)
    if isinstance(unit, ShiftAddUnit):
        levels = unit.exp_max - unit.exp_min + 1                  # exponents, plus one zero code
        code_bits = 1 + math.ceil(math.log2(levels + 1))
        return PotMac(unit.a_bits, unit.shift_range, unit.acc_bits, code_bits, second_term=unit.terms == 2)
    if isinstance(unit, TernaryTreeUnit):
        return TernaryLane(unit.a_bits)
    if isinstance(unit, FpMacUnit):
        return FpMac(unit.fmt, "fp32")
    if isinstance(unit, FpNarrowAccUnit):
        acc = f"e8m{unit.frac_bits}"
        if acc not in FLOAT_LAYOUTS:
            raise SimlowError(f"datapath unit {unit.name!r}: the cost model has no {acc} accumulator layout "
                              f"(simlow.numerics has: {', '.join(sorted(FLOAT_LAYOUTS))})")
        if unit.a_fmt != unit.b_fmt:
            raise SimlowError(f"datapath unit {unit.name!r}: the cost model prices one operand format, "
                              f"got {unit.a_fmt} x {unit.b_fmt}")
        return FpMac(unit.a_fmt, acc)
    raise SimlowError(f"the cost model has no structure for datapath unit {getattr(unit, 'name', unit)!r} "
                      f"({type(unit).__name__})")


def datapath_unit_cost(unit, tech: Tech) -> UnitCost:
    """Area, energy per op and delay of datapath unit ``unit`` (a config or a registry name)."""
    from simlow.datapath.registry import get_unit

    return unit_cost(mac_of(get_unit(unit)), tech)
