"""The named unit presets: one explicit registry.

Each preset is a frozen unit config (``simlow.datapath.configs``) with the source of its
parameters. Values marked "assumed" are design-space defaults, not measurements.
"""

from __future__ import annotations

from simlow.datapath.configs import (
    FpMacUnit, FpNarrowAccUnit, IntMacUnit, Overflow, ShiftAddUnit, TernaryLutUnit,
    TernaryTreeUnit, Truncation, Unit,
)
from simlow.errors import unknown_name

_VECTORS = "H100 outputs in tests/vectors/h100_tc_dev_vectors.npz"
_ASSUMED = "assumed design point (not a measured chip)"

_PRESETS: tuple[Unit, ...] = (
    IntMacUnit("int8_tensor_core", 8, 8, 32, Overflow.WRAP, step_k=32, source=_ASSUMED),
    IntMacUnit("int4_tensor_core", 4, 4, 32, Overflow.WRAP, step_k=32, source=_ASSUMED),
    IntMacUnit("int4x8_tensor_core", 8, 4, 32, Overflow.WRAP, step_k=32, source=_ASSUMED),
    IntMacUnit("int8_mac_acc24", 8, 8, 24, Overflow.SATURATE_EACH_STEP, source=_ASSUMED),
    IntMacUnit("int8_mac_acc20", 8, 8, 20, Overflow.SATURATE_EACH_STEP, source=_ASSUMED),
    IntMacUnit("int4_mac_acc16", 4, 4, 16, Overflow.SATURATE_EACH_STEP, source=_ASSUMED),
    IntMacUnit("h100-int8", 8, 8, 32, Overflow.SATURATE_EACH_STEP, step_k=32,
               source=f"H100 torch._int_mm (cuBLASLt) saturates at intermediate steps; {_VECTORS} "
                      "(k-step 32 = MMA k-step, assumed: a clamp per element or at the end matches too)"),
    FpNarrowAccUnit("h100-fp8-fast", frac_bits=13, block_k=32, promote_every=None,
                    source=f"H100 torch._scaled_mm use_fast_accum=True; model of arXiv 2512.07004, {_VECTORS}"),
    FpNarrowAccUnit("h100-fp8-slow", frac_bits=13, block_k=32, promote_every=128,
                    source=f"H100 torch._scaled_mm use_fast_accum=False; model of arXiv 2512.07004, {_VECTORS}"),
    FpMacUnit("bf16_mac_fp32", "bf16", source="baseline: bf16 products, fp32 accumulate in K order"),
    FpMacUnit("fp16_mac_fp32", "fp16", source="baseline: fp16 products, fp32 accumulate in K order"),
    ShiftAddUnit("pot_shift_add", a_bits=8, terms=1, exp_min=-7, exp_max=0, frac_bits=0,
                 truncation=Truncation.FLOOR, source=f"{_ASSUMED}; DeepShift-style shift range <= 0"),
    ShiftAddUnit("pot_shift_add_left", a_bits=8, terms=1, exp_min=0, exp_max=7, source=_ASSUMED),
    ShiftAddUnit("apot_shift_add", a_bits=8, terms=2, exp_min=-7, exp_max=0, frac_bits=0,
                 shared_sign=True, source=f"{_ASSUMED}; APoT (Li et al. ICLR 2020) two-term levels"),
    ShiftAddUnit("residual_pot_shift_add", a_bits=8, terms=2, exp_min=-7, exp_max=0, frac_bits=0,
                 shared_sign=False,
                 source=f"{_ASSUMED}; simlow's reading of the OrpQuant article (PoT code + PoT residual)"),
    TernaryTreeUnit("ternary_tree", a_bits=8, tile=64, skip_zeros=True, source=_ASSUMED),
    TernaryLutUnit("ternary_lut_tl1", a_bits=8, group=2, mirror=False, entry_bits=16,
                   source="bitnet.cpp TL1 as described in arXiv 2502.11880 (recalled, not re-read)"),
    TernaryLutUnit("ternary_lut_tl2", a_bits=8, group=3, mirror=True, entry_bits=16,
                   source="bitnet.cpp TL2 as described in arXiv 2502.11880 (recalled, not re-read)"),
)

UNITS: dict[str, Unit] = {u.name: u for u in _PRESETS}


def get_unit(unit: str | Unit) -> Unit:
    """The preset called ``unit``, or ``unit`` itself when it is already a unit config."""
    if not isinstance(unit, str):
        return unit
    if unit not in UNITS:
        raise unknown_name("datapath unit", unit, sorted(UNITS))
    return UNITS[unit]
