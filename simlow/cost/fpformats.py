"""Floating-point formats the cost model prices, by name: exponent and mantissa bits.

An explicit registry (no parsing of ``eXmY`` strings): the names are the ``fmt`` strings of
``simlow.events.Event``. Only the widths matter here (cost grows with significand and
total width); the numerics of each format live in ``simlow.quant``.
"""

from __future__ import annotations

from dataclasses import dataclass

from simlow.errors import unknown_name


@dataclass(frozen=True)
class FpFormat:
    name: str
    exp_bits: int
    man_bits: int  # stored mantissa bits, hidden bit excluded
    note: str = ""

    @property
    def total_bits(self) -> int:
        return 1 + self.exp_bits + self.man_bits

    @property
    def significand_bits(self) -> int:
        """Mantissa bits plus the hidden bit: the width of the significand multiplier."""
        return self.man_bits + 1


_FORMATS = (
    FpFormat("fp32", 8, 23, "IEEE 754 binary32"),
    FpFormat("tf32", 8, 10, "NVIDIA TF32 (19 bits)"),
    FpFormat("fp16", 5, 10, "IEEE 754 binary16"),
    FpFormat("bf16", 8, 7, "bfloat16"),
    FpFormat("e4m3", 4, 3, "OCP FP8 E4M3"),
    FpFormat("e5m2", 5, 2, "OCP FP8 E5M2"),
    FpFormat("e3m2", 3, 2, "OCP MX FP6 E3M2"),
    FpFormat("e2m3", 2, 3, "OCP MX FP6 E2M3"),
    FpFormat("e2m1", 2, 1, "OCP MX FP4 E2M1"),
    FpFormat("e8m13", 8, 13,
             "narrow FP8 accumulator (22 bits); the width is an assumption standing for "
             "accumulators that keep fewer mantissa bits than fp32"),
)
_ALIASES = {"fp8_e4m3": "e4m3", "fp8_e5m2": "e5m2", "fp6_e3m2": "e3m2", "fp6_e2m3": "e2m3",
            "fp4_e2m1": "e2m1", "fp22": "e8m13"}

FP_FORMATS: dict[str, FpFormat] = {f.name: f for f in _FORMATS}


def fp_format(name: str) -> FpFormat:
    """The format called ``name`` (an alias such as ``fp8_e4m3`` is accepted)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in FP_FORMATS:
        raise unknown_name("floating-point format", name, sorted(FP_FORMATS) + sorted(_ALIASES))
    return FP_FORMATS[key]
