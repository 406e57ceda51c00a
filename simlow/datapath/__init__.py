"""Bit-exact datapath models with event counts.

Public face::

    from simlow import datapath
    y = datapath.matmul(a, b, unit="h100-fp8", fast_accum=True)     # float32, H100 bits
    y = datapath.matmul(a, b, unit="h100-fp8", scale_a=sa, scale_b=sb)  # torch._scaled_mm epilogue
    y = datapath.matmul(a, b, unit="h100-int8")                     # int32, saturating
    y, counts = datapath.run("int4_tensor_core", a_codes, w_codes)  # output + event counts
    w = datapath.prepare("pot_shift_add", (sign, exp))              # static weights, once
    y, counts = datapath.run("pot_shift_add", a_codes, w)           # per GEMM

``unit`` is a preset name from ``datapath.UNITS`` or a unit config object
(``datapath.units``). Every unit takes ``a`` (M, K) and weights (K, N) as plain arrays of
codes, so it meets ``simlow.quant`` at plain arrays:

=====================  ==============================================================
unit type              code layout
=====================  ==============================================================
IntMacUnit             signed integer codes (any integer dtype), in range for the widths
FpNarrowAccUnit        e4m3/e5m2: ml_dtypes float8 arrays or uint8 bit patterns
FpMacUnit              bf16/fp16: ml_dtypes.bfloat16 / np.float16 or uint16 bit patterns
ShiftAddUnit           int activations; weights ``(sign, exp)``: sign in {-1, 0, 1} and
                       integer exponent, shape (K, N) for one term or (2, K, N) for two
TernaryTreeUnit /      int activations; weights in {-1, 0, +1}
TernaryLutUnit
=====================  ==============================================================

``prepare(unit, w)`` does the weight-only work of a unit once (validation, grouping,
packing), as a real kernel does offline; ``run``/``matmul`` accept its result in place of
the raw weights. Only ``ShiftAddUnit`` has a prepare step so far.

Counts are ``dict[simlow.events.Event, int]`` (zero counts omitted); the cost model prices
them. An ``Event`` is its text (``"int_mul:8b:x8"``), so ``json.dumps(counts)`` works and
``counts["int_mul:8b:x8"]`` finds it. ``operand_toggles(a, w, a_bits, w_bits)`` counts operand register bit flips (the
issue's optional data-dependent activity), apart from the counts since ``simlow.events``
has no toggle event.

Layering: this package uses NumPy only (no JAX), so 64-bit integer references need no
global configuration.
"""

from __future__ import annotations

import numpy as np

from simlow.datapath import fp8acc, fpmac, intmac, shiftadd, ternary_lut, ternary_tree
from simlow.datapath.registry import UNITS, get_unit
from simlow.datapath.toggles import OperandToggles, operand_toggles
from simlow.datapath.configs import (
    FpMacUnit, FpNarrowAccUnit, IntMacUnit, Overflow, ScaleOrder, ShiftAddUnit, TernaryLutUnit,
    TernaryTreeUnit, Truncation, Unit,
)
from simlow.errors import SimlowError
from simlow.events import Event

__all__ = [
    "UNITS", "FpMacUnit", "FpNarrowAccUnit", "IntMacUnit", "OperandToggles", "Overflow",
    "ScaleOrder", "ShiftAddUnit", "TernaryLutUnit", "TernaryTreeUnit", "Truncation", "Unit",
    "get_unit", "matmul", "operand_toggles", "prepare", "run",
]

_RUNNERS = {
    IntMacUnit: intmac.run,
    FpNarrowAccUnit: fp8acc.run,
    FpMacUnit: fpmac.run,
    ShiftAddUnit: shiftadd.run,
    TernaryTreeUnit: ternary_tree.run_tree,
    TernaryLutUnit: ternary_lut.run_lut,
}

# Names that pick a preset by an option rather than naming one.
_FP8_ALIAS = {"h100-fp8": {True: "h100-fp8-fast", False: "h100-fp8-slow"}}


def run(unit: str | Unit, a, w, **options) -> tuple[np.ndarray, dict[Event, int]]:
    """Bit-exact output of ``unit`` on ``a`` and ``w`` (see the module table) and its event counts.

    ``options`` are the unit's run options, e.g. ``a_scale``/``w_scale`` for the integer
    epilogue, ``scale_a``/``scale_b``/``out_dtype`` for the FP8 (``torch._scaled_mm``) one.
    """
    u = get_unit(unit)
    return _RUNNERS[type(u)](u, a, w, **options)


def prepare(unit: str | Unit, w):
    """Weights ``w`` prepared once for ``unit`` (``ShiftAddUnit`` only): pass the result to
    ``run``/``matmul`` in place of ``w``. Bit-exact results are the same either way."""
    u = get_unit(unit)
    if not isinstance(u, ShiftAddUnit):
        raise SimlowError(f"unit {u.name!r} ({type(u).__name__}) has no prepare step; "
                          "only ShiftAddUnit units do")
    return shiftadd.prepare(u, w)


def matmul(a, b, unit: str | Unit = "h100-fp8", fast_accum: bool | None = None, **options) -> np.ndarray:
    """The output of ``unit`` alone (``run`` without the counts).

    ``fast_accum`` applies to ``unit="h100-fp8"`` only (default True): True is cuBLASLt's
    ``use_fast_accum=True`` (never promotes), False promotes to fp32 every 128 of K.
    """
    if isinstance(unit, str) and unit in _FP8_ALIAS:
        unit = _FP8_ALIAS[unit][True if fast_accum is None else bool(fast_accum)]
    elif fast_accum is not None:
        raise SimlowError(f"fast_accum applies only to unit='h100-fp8', not {unit!r}")
    return run(unit, a, b, **options)[0]
