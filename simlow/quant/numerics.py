"""Numerics: how a value is represented. Frozen, named format definitions.

Layering: pure data; imported by the cast code (``minifloat``) and the quantizers.

``FpFormat`` is a sign-magnitude small float ``1 + ebits + mbits`` bits wide, with exponent
bias ``2**(ebits-1) - 1`` (every format here uses the OCP/IEEE bias). Behaviour at the edges
(identical to the ``ml_dtypes`` cast from float32, which the tests enumerate):

=========  =====  ========  ==========================  ==========================
name        max   min sub   overflow (after RNE)        NaN input
=========  =====  ========  ==========================  ==========================
e4m3fn      448   2^-9      -> NaN code 0x7F/0xFF       -> 0x7F/0xFF (sign of NaN)
e5m2      57344   2^-16     -> inf code 0x7C/0xFC       -> 0x7E/0xFE (sign of NaN)
e3m2fn       28   2^-4      saturate to +-max           -> zero code with the sign
e2m3fn      7.5   2^-3      saturate to +-max              bit *inverted* (ml_dtypes)
e2m1fn        6   0.5       saturate to +-max           (e.g. +NaN -> 0x20 = -0)
=========  =====  ========  ==========================  ==========================

Rounding is round-to-nearest-even on the exact float32 value (subnormal inputs included);
-0.0 keeps its sign. ``E8M0`` (``float8_e8m0fnu``) is separate: value ``2**(code-127)``,
code 0xFF = NaN; no zero, no sign. See ``minifloat.encode_e8m0`` for its (not RNE) rounding.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Overflow(enum.Enum):
    """What a cast does with a value that rounds above the largest finite code."""

    SATURATE = "saturate"   # clamp to +-max finite (formats without inf/NaN)
    NAN = "nan"             # becomes the NaN code (e4m3fn: the all-ones magnitude)
    INF = "inf"             # becomes +-inf (IEEE-like e5m2)


@dataclass(frozen=True)
class FpFormat:
    """A sign + ``ebits`` exponent + ``mbits`` mantissa float (bias 2**(ebits-1)-1)."""

    name: str
    ebits: int
    mbits: int
    overflow: Overflow
    max_code: int        # largest finite magnitude code (sign bit clear)
    nan_code: int | None  # magnitude code of NaN (sign bit clear), if any
    inf_code: int | None  # magnitude code of inf, if any
    ml_dtype: str        # the ml_dtypes name this format is pinned to

    @property
    def bits(self) -> int:
        return 1 + self.ebits + self.mbits

    @property
    def bias(self) -> int:
        return 2 ** (self.ebits - 1) - 1

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal number."""
        return 1 - self.bias

    @property
    def sign_bit(self) -> int:
        return 1 << (self.ebits + self.mbits)

    @property
    def max_value(self) -> float:
        e = (self.max_code >> self.mbits) - self.bias
        m = self.max_code & ((1 << self.mbits) - 1)
        return (1 + m / 2 ** self.mbits) * 2.0 ** e

    @property
    def emax(self) -> int:
        """Exponent of the largest normal number (OCP MX ``emax_elem``)."""
        return (self.max_code >> self.mbits) - self.bias


E4M3FN = FpFormat("e4m3fn", 4, 3, Overflow.NAN, 0x7E, 0x7F, None, "float8_e4m3fn")
E5M2 = FpFormat("e5m2", 5, 2, Overflow.INF, 0x7B, 0x7E, 0x7C, "float8_e5m2")
E3M2 = FpFormat("e3m2fn", 3, 2, Overflow.SATURATE, 0x1F, None, None, "float6_e3m2fn")
E2M3 = FpFormat("e2m3fn", 2, 3, Overflow.SATURATE, 0x1F, None, None, "float6_e2m3fn")
E2M1 = FpFormat("e2m1fn", 2, 1, Overflow.SATURATE, 0x07, None, None, "float4_e2m1fn")

FP_FORMATS: dict[str, FpFormat] = {f.name: f for f in (E4M3FN, E5M2, E3M2, E2M3, E2M1)}


class Rounding(enum.Enum):
    """Tie rules for rounding a real value to an integer (all exact on float32 inputs).

    ``RNE``: ties to even (torch.round, np.round, IEEE default).
    ``HALF_AWAY``: ties away from zero (C ``roundf``, gguf ``np_roundf``).
    ``HALF_UP``: ties toward +inf (``floor(v + 0.5)`` evaluated exactly).
    ``HALF_DOWN``: ties toward -inf.
    ``HALF_TO_ZERO``: ties toward zero.
    """

    RNE = "rne"
    HALF_AWAY = "half_away"
    HALF_UP = "half_up"
    HALF_DOWN = "half_down"
    HALF_TO_ZERO = "half_to_zero"
