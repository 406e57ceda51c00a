"""Numerics: how a value is represented, in one vocabulary for the whole package.

Layering: pure data at the bottom of simlow (no JAX, no NumPy); the quantizers
(``simlow.quant``), the datapaths (``simlow.datapath``), the cost model (``simlow.cost``),
the hardware specs and the op graph all read their float layouts, rounding rules and
compute formats from here, so a format is described once.

* ``FpFormat``: a float's bit layout and its overflow / NaN semantics (below), from the
  small floats of OCP OFP8 / MX up to IEEE binary32; ``fp_format(name)`` finds one by name
  or alias (``e4m3`` = ``fp8_e4m3`` = ``e4m3fn``).
* ``Rounding``: tie rules for rounding to an integer.
* ``ComputeFormat``: the formats a compute engine has a peak rate in (``peak: {bf16: ...}``
  in ``hwspecs/``), with the bytes one value takes and the operand layout / integer width
  of the MAC that runs it.

This docstring is the one definition of every small-float format's semantics; the casts in
``simlow.quant.minifloat`` implement it and ``tests/quant/oracle.py`` re-derives it in exact integer /
``Fraction`` arithmetic (every code decoded, every rounding boundary encoded). Agreement
with ``ml_dtypes`` is a separate test that records which library versions agree.

``FpFormat`` is a sign-magnitude small float ``1 + ebits + mbits`` bits wide, exponent bias
``2**(ebits-1) - 1``, with subnormals (exponent field 0: ``m * 2**(1-bias-mbits)``).
Encodings: OCP OFP8 v1.0 (E4M3, E5M2: Tables 1-2) and OCP MX v1.0 (FP6 E3M2/E2M3, FP4
E2M1: no inf, no NaN). Rounding of a float32 input (the cast from float32):

* **Ties / rounding:** round-to-nearest-even on the *exact* float32 value, subnormal inputs
  included (OFP8 v1.0 §5.2.1 conversion arithmetic; no flush-to-zero, no double rounding).
* **Signed zero:** -0.0 -> the negative zero code; a negative value that rounds to zero
  gives the negative zero code (the sign is kept, as IEEE 754).
* **Overflow** is decided after rounding with an unbounded exponent: a value rounds past
  max when it is >= max + ulp(max)/2, with the tie going to even (e4m3fn max 448 has an
  even mantissa, so 464 -> 448; e5m2 max 57344 has an odd one, so 61440 overflows).

=========  =====  ========  ==========================  ==========================
name        max   min sub   overflow (incl. +-inf in)   NaN input
=========  =====  ========  ==========================  ==========================
e4m3fn      448   2^-9      -> NaN code 0x7F/0xFF       -> 0x7F/0xFF (sign of NaN)
e5m2      57344   2^-16     -> inf code 0x7C/0xFC       -> 0x7E/0xFE (sign of NaN)
e3m2fn       28   2^-4      saturate to +-max           -> zero code with the sign
e2m3fn      7.5   2^-3      saturate to +-max              bit *inverted*
e2m1fn        6   0.5       saturate to +-max           (e.g. +NaN -> 0x20 = -0)
=========  =====  ========  ==========================  ==========================

OFP8 v1.0 §5.2 allows saturating and non-saturating conversion; simlow's plain FP8 casts
are non-saturating (the table), MX elements saturate (``mx`` casts with
``Overflow.SATURATE``, MX v1.0 §6.3). FP6/FP4 have no NaN code, so the spec leaves a NaN
input open: simlow's choice is the zero code with the sign inverted (what ml_dtypes 0.5.0
to 0.7.0 all do; only the plain casts accept NaN, the MX quantizers reject it).

**E8M0** (``float8_e8m0fnu``; OCP MX v1.0 scale data type): 8 exponent bits, bias 127,
value ``2**(code-127)`` for codes 0..254 (2**-127 .. 2**127), code 0xFF = NaN; no sign, no
zero, no inf, no subnormals. Conversion *to* E8M0 is defined by the MX spec only for the
shared scale, §6.3 Algorithm 1: ``shared_exp <- floor(log2(max_i(|V_i|))) - emax_elem``,
``X <- 2**shared_exp`` -- a floor of the exponent, not a round-to-nearest. simlow's MX
quantizers do exactly that (``mx``, with the exponent read from the float bits, so also for
a float32 subnormal amax: 1.25 * 2**-127 -> shared exponent -127, code 0). The spec defines
no generic cast of a scalar to E8M0; libraries differ (ml_dtypes 0.5.0 ties to even codes,
0.5.1-0.6.0 round float32 subnormals up, 0.7.0 to the nearest; CUDA
``__nv_cvt_float_to_e8m0`` rounds toward +inf). simlow's generic cast
``minifloat.encode_e8m0`` is chosen to be a *cast* like every other format here -- round to
the nearest value:

* positive finite x -> the nearest 2**k; a tie (x = 1.5 * 2**k) goes **up** in magnitude
  (roundTiesToAway: roundTiesToEven is undefined for a 1-bit significand, both neighbours
  have significand 1). The same rule holds for float32 subnormal inputs (threshold
  1.5 * 2**-127, so 1.25 * 2**-127 -> 0x00 = 2**-127, 1.5 * 2**-127 -> 0x01).
* 0 < x < 2**-127 -> 0x00 (the nearest value; there is no zero to flush to).
* x >= 1.5 * 2**127 (would round to 2**128) -> 0xFF: no inf, so overflow is NaN (as e4m3fn).
* +-0, negative x, +-inf, NaN -> 0xFF (not representable: no zero, no sign).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from simlow.errors import unknown_name


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
    ml_dtype: str | None  # the ml_dtypes / NumPy name of the same format (None: none has it)
    note: str = ""

    @property
    def bits(self) -> int:
        return 1 + self.ebits + self.mbits

    @property
    def event_name(self) -> str:
        """How ``simlow.events`` names this float: the layout's name without OCP's ``fn``
        (finite-only) suffix (``e4m3fn`` -> ``e4m3``)."""
        return self.name.removesuffix("fn")

    @property
    def significand_bits(self) -> int:
        """Mantissa bits plus the hidden bit: the width of the significand multiplier."""
        return self.mbits + 1

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


E4M3FN = FpFormat("e4m3fn", 4, 3, Overflow.NAN, 0x7E, 0x7F, None, "float8_e4m3fn", "OCP FP8 E4M3")
E5M2 = FpFormat("e5m2", 5, 2, Overflow.INF, 0x7B, 0x7E, 0x7C, "float8_e5m2", "OCP FP8 E5M2")
E3M2 = FpFormat("e3m2fn", 3, 2, Overflow.SATURATE, 0x1F, None, None, "float6_e3m2fn", "OCP MX FP6 E3M2")
E2M3 = FpFormat("e2m3fn", 2, 3, Overflow.SATURATE, 0x1F, None, None, "float6_e2m3fn", "OCP MX FP6 E2M3")
E2M1 = FpFormat("e2m1fn", 2, 1, Overflow.SATURATE, 0x07, None, None, "float4_e2m1fn", "OCP MX FP4 E2M1")

# The wider IEEE-like layouts (inf and quiet-NaN codes as IEEE 754 binary16/32 and bfloat16).
FP32 = FpFormat("fp32", 8, 23, Overflow.INF, 0x7F7FFFFF, 0x7FC00000, 0x7F800000, "float32", "IEEE 754 binary32")
TF32 = FpFormat("tf32", 8, 10, Overflow.INF, 0x3FBFF, 0x3FE00, 0x3FC00, None, "NVIDIA TF32 (19 bits)")
FP16 = FpFormat("fp16", 5, 10, Overflow.INF, 0x7BFF, 0x7E00, 0x7C00, "float16", "IEEE 754 binary16")
BF16 = FpFormat("bf16", 8, 7, Overflow.INF, 0x7F7F, 0x7FC0, 0x7F80, "bfloat16", "bfloat16")
# A width only: the cost model's narrow FP8 accumulator (22 bits). The width is an assumption
# standing for accumulators that keep fewer mantissa bits than fp32; codes as IEEE.
E8M13 = FpFormat("e8m13", 8, 13, Overflow.INF, 0x1FDFFF, 0x1FF000, 0x1FE000, None,
                 "narrow FP8 accumulator (22 bits; assumed width)")

FP_FORMATS: dict[str, FpFormat] = {f.name: f for f in (E4M3FN, E5M2, E3M2, E2M3, E2M1)}   # the small floats
FLOAT_LAYOUTS: dict[str, FpFormat] = {f.name: f for f in (FP32, TF32, FP16, BF16, E4M3FN, E5M2, E3M2, E2M3, E2M1,
                                                           E8M13)}
_ALIASES = {"e4m3": "e4m3fn", "fp8_e4m3": "e4m3fn", "fp8_e5m2": "e5m2", "e3m2": "e3m2fn", "fp6_e3m2": "e3m2fn",
            "e2m3": "e2m3fn", "fp6_e2m3": "e2m3fn", "e2m1": "e2m1fn", "fp4_e2m1": "e2m1fn", "fp22": "e8m13"}


def fp_format(name: str) -> FpFormat:
    """The float layout called ``name`` (an alias such as ``e4m3`` or ``fp8_e4m3`` is accepted)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in FLOAT_LAYOUTS:
        raise unknown_name("floating-point format", name, sorted(FLOAT_LAYOUTS) + sorted(_ALIASES))
    return FLOAT_LAYOUTS[key]



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


@dataclass(frozen=True)
class ComputeFormat:
    """A number format a compute engine runs at a peak rate (``hwspecs/``: ``peak:`` keys).

    ``value_bytes``: bytes one value takes in memory (fp6 packs 4 values in 3 bytes);
    ``layout``: the float operand layout of its MAC (None for integer formats);
    ``int_bits``: the operand width of an integer MAC (None for floats and for formats whose
    arithmetic is not a multiply: ternary, power-of-two)."""

    name: str
    value_bytes: float
    layout: FpFormat | None = None
    int_bits: int | None = None


COMPUTE: dict[str, ComputeFormat] = {c.name: c for c in (
    ComputeFormat("fp32", 4.0, FP32), ComputeFormat("tf32", 4.0, TF32),
    ComputeFormat("fp16", 2.0, FP16), ComputeFormat("bf16", 2.0, BF16),
    ComputeFormat("fp8", 1.0, E4M3FN), ComputeFormat("fp6", 0.75, E3M2), ComputeFormat("fp4", 0.5, E2M1),
    ComputeFormat("int8", 1.0, int_bits=8), ComputeFormat("int4", 0.5, int_bits=4),
    ComputeFormat("ternary", 0.25), ComputeFormat("pot", 0.5),
)}
COMPUTE_FORMATS: tuple[str, ...] = tuple(COMPUTE)
