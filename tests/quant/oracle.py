"""An exact reference for small floats, in Python ints and ``fractions.Fraction`` only.

Independent of simlow (imports nothing from it), of NumPy float arithmetic and of
ml_dtypes: a format is a handful of integers and flags (``Spec``); its values are enumerated
once as exact Fractions, and a float32 input (given by its 32 bits) is rounded by searching
the sorted value table with ``bisect`` on exact scaled integers. The rules written here are
the definitions in ``simlow/numerics.py``, restated from first principles:

* decode: sign-magnitude, ``(2**mbits + m) * 2**(e - bias - mbits)`` for a nonzero exponent
  field ``e``, and ``m * 2**(1 - bias - mbits)`` for e = 0 when the format has subnormals
  (E8M0 has none: code 0 is 2**-127).
* encode: round to the nearest value; on a tie the even code (RNE, the code's LSB is the
  significand's LSB) or, with ``ties_away``, the larger magnitude. Overflow is judged against
  a virtual value one ulp above max (code max+1), so the tie rule also decides the
  overflow threshold. Then the format's overflow rule (saturate / NaN / inf).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from fractions import Fraction

SHIFT = 160          # every float32 value and every code value here is a multiple of 2**-150


@dataclass(frozen=True)
class Spec:
    name: str
    ebits: int
    mbits: int
    bias: int
    overflow: str            # "saturate" | "nan" | "inf"
    nan_mag: int | None      # magnitude code produced for NaN (None: no NaN encoding)
    nan_mags: tuple = ()     # every magnitude code that decodes to NaN
    inf_mag: int | None = None
    signed: bool = True
    subnormals: bool = True
    ties_away: bool = False  # False: ties to even code

    @property
    def mag_codes(self) -> int:
        return 1 << (self.ebits + self.mbits)


E4M3FN = Spec("e4m3fn", 4, 3, 7, "nan", 0x7F, (0x7F,))
E5M2 = Spec("e5m2", 5, 2, 15, "inf", 0x7E, (0x7D, 0x7E, 0x7F), inf_mag=0x7C)
E3M2 = Spec("e3m2fn", 3, 2, 3, "saturate", None)
E2M3 = Spec("e2m3fn", 2, 3, 1, "saturate", None)
E2M1 = Spec("e2m1fn", 2, 1, 1, "saturate", None)
E8M0 = Spec("e8m0fnu", 8, 0, 127, "nan", 0xFF, (0xFF,), signed=False, subnormals=False,
            ties_away=True)
SPECS = {s.name: s for s in (E4M3FN, E5M2, E3M2, E2M3, E2M1)}

NAN = "nan"


def mag_value(spec: Spec, mag: int) -> Fraction:
    """Exact value of a finite magnitude code."""
    e, m = mag >> spec.mbits, mag & ((1 << spec.mbits) - 1)
    if e == 0 and spec.subnormals:
        return Fraction(m) * Fraction(2) ** (1 - spec.bias - spec.mbits)
    return Fraction((1 << spec.mbits) + m) * Fraction(2) ** (e - spec.bias - spec.mbits)


def decode(spec: Spec, code: int):
    """(sign, value): value a Fraction, ``NAN`` or ``inf`` as Fraction-free strings."""
    sign = (code >> (spec.ebits + spec.mbits)) & 1 if spec.signed else 0
    mag = code & (spec.mag_codes - 1)
    if mag in spec.nan_mags:
        return sign, NAN
    if mag == spec.inf_mag:
        return sign, "inf"
    return sign, mag_value(spec, mag)


@dataclass(frozen=True)
class Table:
    """The finite magnitudes of a format, sorted, with exact scaled-integer keys."""

    spec: Spec
    mags: tuple[int, ...]        # magnitude codes, ascending value (max code last)
    keys: tuple[int, ...]        # value * 2**SHIFT, exact
    over_key: int                # the virtual value one ulp above max, scaled


def table(spec: Spec) -> Table:
    bad = set(spec.nan_mags) | ({spec.inf_mag} if spec.inf_mag is not None else set())
    mags = [m for m in range(spec.mag_codes) if m not in bad]
    vals = [mag_value(spec, m) for m in mags]
    assert all(a < b for a, b in zip(vals, vals[1:])), "values must increase with the code"
    top = vals[-1]
    ulp = Fraction(2) ** ((mags[-1] >> spec.mbits) - spec.bias - spec.mbits)
    keys = [_scaled(v) for v in vals]
    return Table(spec, tuple(mags), tuple(keys), _scaled(top + ulp))


def _scaled(v: Fraction) -> int:
    k = v * (1 << SHIFT)
    assert k.denominator == 1, "value below the scaled grid"
    return k.numerator


def f32_parts(bits: int):
    """(sign, kind, scaled magnitude) of float32 ``bits``: kind in finite / inf / nan."""
    s, e, m = bits >> 31, (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if e == 0xFF:
        return s, ("nan" if m else "inf"), 0
    sig, ex = (m, -149) if e == 0 else (m | (1 << 23), e - 150)
    return s, "finite", sig << (ex + SHIFT)


def f32_value(bits: int):
    """Exact value of float32 bits as a Fraction (or ``NAN`` / ``inf`` / ``-inf``)."""
    s, kind, k = f32_parts(bits)
    if kind == "nan":
        return NAN
    if kind == "inf":
        return "-inf" if s else "inf"
    return Fraction(-k if s else k, 1 << SHIFT)


def _round_mag(t: Table, k2: int) -> int | None:
    """Magnitude code nearest to a magnitude given as ``k2`` = twice its scaled value (even
    when exact on the grid, odd when strictly between two grid points); None on overflow."""
    keys, mags = t.keys, t.mags
    i = bisect_left(keys, (k2 + 1) // 2)              # first value >= the magnitude
    if k2 % 2 == 0 and i < len(keys) and keys[i] == k2 // 2:
        return mags[i]
    if i == 0:
        return mags[0]                  # below the smallest value (only E8M0: no zero)
    lo, lo_mag = keys[i - 1], mags[i - 1]
    hi, hi_mag = (keys[i], mags[i]) if i < len(keys) else (t.over_key, mags[-1] + 1)
    if k2 > 2 * hi:
        return None                     # above the virtual value: overflow
    d_lo, d_hi = k2 - 2 * lo, 2 * hi - k2
    if d_lo != d_hi:
        pick = lo_mag if d_lo < d_hi else hi_mag
    elif t.spec.ties_away:
        pick = hi_mag
    else:
        pick = lo_mag if lo_mag % 2 == 0 else hi_mag
    return None if pick > mags[-1] else pick


def encode_value(t: Table, sign: int, v: Fraction, saturate: bool = False) -> int:
    """Code of the exact magnitude ``v`` >= 0 with ``sign`` (signed formats; RNE; overflow
    saturates when ``saturate``, else follows the format's rule)."""
    scaled = v * (1 << SHIFT)
    fl = scaled.numerator // scaled.denominator
    mag = _round_mag(t, 2 * fl + (scaled.denominator != 1))
    if mag is None:
        mag = t.mags[-1] if saturate else {"saturate": t.mags[-1], "nan": t.spec.nan_mag,
                                          "inf": t.spec.inf_mag}[t.spec.overflow]
    return (sign << (t.spec.ebits + t.spec.mbits)) | mag


def encode(t: Table, bits: int) -> int:
    """The code of float32 ``bits`` in ``t.spec`` (rules in the module docstring)."""
    spec = t.spec
    s, kind, k = f32_parts(bits)
    sbit = 1 << (spec.ebits + spec.mbits)
    if not spec.signed:
        if kind != "finite" or s or k == 0:
            return spec.nan_mag          # NaN, inf, negative, zero: no such value
        mag = _round_mag(t, 2 * k)
        return spec.nan_mag if mag is None else mag
    if kind == "nan":
        if spec.nan_mag is None:
            return (sbit if s == 0 else 0)   # documented choice: zero with the sign inverted
        return (sbit if s else 0) | spec.nan_mag
    mag = None if kind == "inf" else _round_mag(t, 2 * k)
    if mag is None:
        mag = {"saturate": t.mags[-1], "nan": spec.nan_mag, "inf": spec.inf_mag}[spec.overflow]
    return (sbit if s else 0) | mag


def encode_all(t: Table, bits_list) -> list[int]:
    return [encode(t, int(b)) for b in bits_list]


def f32_bits_of(v: Fraction) -> int | None:
    """float32 bits of the exact value ``v`` when ``v`` is a float32, else None."""
    s = 1 if v < 0 else 0
    a = -v if s else v
    if a == 0:
        return s << 31
    k = a * (1 << SHIFT)
    if k.denominator != 1:
        return None
    n = k.numerator
    p = n.bit_length() - 1 - SHIFT              # floor(log2 a)
    if p < -126:                                 # subnormal range: grid 2**-149
        q, r = divmod(n, 1 << (SHIFT - 149))
        return (s << 31) | q if r == 0 and q < (1 << 23) else None
    if p > 127:
        return None
    q, r = divmod(n, 1 << (SHIFT + p - 23))
    if r or q >= (1 << 24):
        return None
    return (s << 31) | ((p + 127) << 23) | (q - (1 << 23))


def boundary_inputs(t: Table) -> list[int]:
    """float32 bits around every rounding boundary of ``t``, both signs.

    Every code's value, every midpoint between adjacent values (including the one to the
    virtual overflow value), each with its float32 neighbours (nextafter both ways), plus
    +-0, the smallest subnormals, the largest finite float32, +-inf and several NaNs.
    """
    vals = [Fraction(k, 1 << SHIFT) for k in t.keys] + [Fraction(t.over_key, 1 << SHIFT)]
    points = vals + [(a + b) / 2 for a, b in zip(vals, vals[1:])] + [vals[0] / 2]
    out = set()
    for p in points:
        b = f32_bits_of(p)
        if b is None and p >= Fraction(2) ** 128:
            continue                             # E8M0's virtual 2**128: beyond float32
        assert b is not None, f"{t.spec.name}: boundary {p} is not a float32"
        for d in (-1, 0, 1):
            c = b + d
            if 0 <= c < 0x7F800000:
                out.add(c)
    out |= {0, 1, 2, 3, 0x7FFFFF, 0x400000, 0x400001, 0x5FFFFF, 0x600000, 0x600001,
            0x800000, 0x7F7FFFFF, 0x7F800000, 0x7F800001, 0x7FC00000, 0x7FFFFFFF}
    return sorted(out | {b | (1 << 31) for b in out})
