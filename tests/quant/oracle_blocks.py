"""Exact per-block references for the OCP MX formats and the GGUF legacy types + MXFP4.

Pure Python ints and ``fractions.Fraction`` (no NumPy arithmetic, no simlow, no gguf): each
IEEE float operation the reference quantizer performs is done exactly and then rounded once
to nearest-even into its format (``F32`` / ``F16``: gradual underflow, overflow to inf,
signed zeros), so the result is what a correctly rounded float machine computes.

GGUF definitions re-derived from llama.cpp's reference quantizers as gguf-py 0.19
(``gguf/quants.py``) writes them, all float32:
  Q8_0  d = amax / 127, id = d ? 1/d : 0, q = roundf(x * id)              (ties away)
  Q4_0  m = the x of largest |x| (first), d = m / -8, q = min(15, trunc(x * id + 8.5))
  Q5_0  as Q4_0 with 16, 16.5 and 31
  Q4_1  d = (max - min) / 15, q = min(15, trunc((x - min) * id + 0.5)), stores f16(min)
  Q5_1  as Q4_1 with 31
  d is stored as f16(d) (RNE). Dequantize: f16 scale widened exactly, then d * q (+ m) in
  float32, one rounding per operation.
  MXFP4 e = floor(log2 amax) - 2 + 127 taken mod 256 (exact floor: simlow's documented
  choice where gguf's float log2 is off by one below 2**k), d = 2**(e-128); code = the first
  index of the smallest float32 |d*k_i - x| over the doubled E2M1 table k.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from . import oracle

INF, NAN = "inf", "nan"


@dataclass(frozen=True)
class Fmt:
    p: int       # significand bits including the hidden one
    ebits: int

    @property
    def bias(self) -> int:
        return (1 << (self.ebits - 1)) - 1


F32, F16 = Fmt(24, 8), Fmt(11, 5)


def _floor_log2(v: Fraction) -> int:
    n, d = v.numerator, v.denominator
    e = n.bit_length() - d.bit_length()
    if (n << -e if e < 0 else n) < (d << e if e > 0 else d):   # 2**e > v
        e -= 1
    return e


def _rne_int(v: Fraction) -> int:
    fl, r = divmod(v.numerator, v.denominator)
    return fl + 1 if 2 * r > v.denominator or (2 * r == v.denominator and fl % 2) else fl


def _pow2(q: int) -> Fraction:
    return Fraction(1 << q) if q >= 0 else Fraction(1, 1 << -q)


def rnd(f: Fmt, sign: int, mag) -> tuple:
    """(sign, magnitude) rounded into ``f``: magnitude a Fraction, INF or NAN."""
    if mag in (INF, NAN) or mag == 0:
        return sign, mag
    q = max(_floor_log2(mag), 1 - f.bias) - (f.p - 1)
    num, den = (mag.numerator, mag.denominator << q) if q >= 0 else (mag.numerator << -q, mag.denominator)
    n, r = divmod(num, den)
    n += 2 * r > den or (2 * r == den and n % 2)       # round half to even
    out = n * _pow2(q)
    top = ((1 << f.p) - 1) * _pow2(f.bias - f.p + 1)
    return (sign, INF) if out > top else (sign, out)


def bits(f: Fmt, v: tuple) -> int:
    """IEEE bits of an already rounded (sign, magnitude)."""
    sign, mag = v
    width = f.ebits + f.p
    if mag == NAN:
        return (((1 << f.ebits) - 1) << (f.p - 1)) | (1 << (f.p - 2))
    if mag == INF:
        return (sign << (width - 1)) | (((1 << f.ebits) - 1) << (f.p - 1))
    if mag == 0:
        return sign << (width - 1)
    e = max(_floor_log2(mag), 1 - f.bias)
    n = mag / Fraction(2) ** (e - (f.p - 1))
    assert n.denominator == 1, "not rounded"
    field = e + f.bias if n >= (1 << (f.p - 1)) else 0
    return (sign << (width - 1)) | (field << (f.p - 1)) | (n.numerator & ((1 << (f.p - 1)) - 1))


def from_bits(f: Fmt, b: int) -> tuple:
    width = f.ebits + f.p
    sign, field, m = b >> (width - 1), (b >> (f.p - 1)) & ((1 << f.ebits) - 1), b & ((1 << (f.p - 1)) - 1)
    if field == (1 << f.ebits) - 1:
        return sign, (NAN if m else INF)
    sig = m if field == 0 else m | (1 << (f.p - 1))
    return sign, Fraction(sig) * Fraction(2) ** (max(field, 1) - f.bias - (f.p - 1))


def mul(a, b, f=F32):
    s = a[0] ^ b[0]
    if NAN in (a[1], b[1]) or (INF in (a[1], b[1]) and 0 in (a[1], b[1])):
        return 0, NAN
    if INF in (a[1], b[1]):
        return s, INF
    return rnd(f, s, a[1] * b[1])


def div(a, b, f=F32):
    s = a[0] ^ b[0]
    if NAN in (a[1], b[1]) or (a[1] == INF == b[1]) or (a[1] == 0 == b[1]):
        return 0, NAN
    if a[1] == INF or b[1] == 0:
        return s, INF
    if b[1] == INF:
        return s, Fraction(0)
    return rnd(f, s, a[1] / b[1])


def add(a, b, f=F32):
    if NAN in (a[1], b[1]) or (a[1] == INF == b[1] and a[0] != b[0]):
        return 0, NAN
    if INF in (a[1], b[1]):
        return a if a[1] == INF else b
    v = (-a[1] if a[0] else a[1]) + (-b[1] if b[0] else b[1])
    if v == 0:
        return (a[0] & b[0]), Fraction(0)         # x + (-x) = +0 under RNE; -0 + -0 = -0
    return rnd(f, int(v < 0), abs(v))


def neg(a):
    return 1 - a[0], a[1]


def const(v) -> tuple:
    v = Fraction(v)
    return int(v < 0), abs(v)


def _less(a, b) -> bool:
    return (-a[1] if a[0] else a[1]) < (-b[1] if b[0] else b[1])


def _trunc(a) -> int:
    n = int(a[1])                                    # Fraction -> int truncates toward 0
    return -n if a[0] else n


def _f32s(block_bits) -> list[tuple]:
    return [from_bits(F32, b) for b in block_bits]


def _scale(d) -> tuple[bytes, tuple]:
    """f16 bytes of float32 ``d`` and the float32 it dequantizes with."""
    h = bits(F16, rnd(F16, *d))
    return h.to_bytes(2, "little"), from_bits(F16, h)


class Undefined(ValueError):
    """The reference's float-to-int conversion is undefined for this block: 1/d overflows
    to inf (|d| < 2**-128, so amax below about 2**-121), and C's int cast of inf/NaN is UB."""


def _inv(d) -> tuple:
    inv = const(0) if d[1] == 0 else div(const(1), d)
    if inv[1] == INF:
        raise Undefined(f"1/d overflows (d = {d})")
    return inv


def q8_0(block_bits) -> tuple[bytes, list[tuple]]:
    """(block bytes, dequantized float32 values) of one Q8_0 block."""
    x = _f32s(block_bits)
    amax = max((v[1] for v in x))
    d = div((0, amax), const(127))
    inv = _inv(d)
    q = [(-1 if v[0] else 1) * _round_half_away(mul(v, inv)[1]) for v in x]
    assert all(-127 <= c <= 127 for c in q)
    raw, d16 = _scale(d)
    return raw + bytes(c & 0xFF for c in q), [mul(const(c), d16) for c in q]


def _round_half_away(v: Fraction) -> int:
    """gguf ``np_roundf`` on a magnitude: floor(a) + floor(2 * (a - floor(a)))."""
    fl = v.numerator // v.denominator
    return fl + 1 if v - fl >= Fraction(1, 2) else fl


def _symmetric(block_bits, levels: int):
    """Q4_0 (levels 16) / Q5_0 (32): codes 0..levels-1 and the f16 scale."""
    x = _f32s(block_bits)
    m = x[0]
    for v in x[1:]:
        if v[1] > m[1]:
            m = v                                    # first of the largest |x|
    d = div(m, const(-levels // 2))
    half, inv = const(Fraction(levels + 1, 2)), _inv(d)
    q = [min(levels - 1, max(0, _trunc(add(mul(v, inv), half)))) for v in x]
    raw, d16 = _scale(d)
    return q, raw, [mul(d16, const(c - levels // 2)) for c in q]


def _affine(block_bits, levels: int):
    x = _f32s(block_bits)
    lo, hi = x[0], x[0]
    for v in x[1:]:
        lo = v if _less(v, lo) else lo
        hi = v if _less(hi, v) else hi
    d = div(add(hi, neg(lo)), const(levels - 1))
    inv, half = _inv(d), const(Fraction(1, 2))
    q = [min(levels - 1, max(0, _trunc(add(mul(add(v, neg(lo)), inv), half)))) for v in x]
    raw_d, d16 = _scale(d)
    raw_m, m16 = _scale(lo)
    return q, raw_d + raw_m, [add(mul(d16, const(c)), m16) for c in q]


def _nibbles(q) -> bytes:
    return bytes((q[j] & 15) | ((q[j + 16] & 15) << 4) for j in range(16))


def _high_bits(q) -> bytes:
    return sum(((c >> 4) & 1) << i for i, c in enumerate(q)).to_bytes(4, "little")


def q4_0(block_bits):
    q, raw, vals = _symmetric(block_bits, 16)
    return raw + _nibbles(q), vals


def q5_0(block_bits):
    q, raw, vals = _symmetric(block_bits, 32)
    return raw + _high_bits(q) + _nibbles(q), vals


def q4_1(block_bits):
    q, raw, vals = _affine(block_bits, 16)
    return raw + _nibbles(q), vals


def q5_1(block_bits):
    q, raw, vals = _affine(block_bits, 32)
    return raw + _high_bits(q) + _nibbles(q), vals


KVALUES = (0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12)


def mxfp4(block_bits):
    x = _f32s(block_bits)
    amax = max(v[1] for v in x)
    e = (_floor_log2(amax) - 2 + 127) % 256 if amax else 0
    d = const(Fraction(2) ** (e - 128))
    grid = [mul(d, const(k)) for k in KVALUES]
    codes = []
    for v in x:
        errs = [add(g, neg(v))[1] for g in grid]          # |d*k - x| in float32 (may be inf)
        codes.append(min(range(16), key=lambda i: (errs[i] == INF, 0 if errs[i] == INF else errs[i])))
    qs = bytes(codes[j] | (codes[j + 16] << 4) for j in range(16))
    return bytes([e]) + qs, [grid[c] for c in codes]


REFERENCES = {"q8_0": q8_0, "q4_0": q4_0, "q4_1": q4_1, "q5_0": q5_0, "q5_1": q5_1, "mxfp4": mxfp4}


def f32_bits(v: tuple) -> int:
    return bits(F32, v)


def mx_block(spec: oracle.Spec, emax: int, block_bits):
    """OCP MX v1.0 §6.3 for one block: (E8M0 scale code, element codes, exact values)."""
    x = _f32s(block_bits)
    amax = max(v[1] for v in x)
    shared = min(max(_floor_log2(amax) - emax, -127), 127) if amax else -127
    scale = Fraction(2) ** shared
    if spec is None:                                  # MXINT8: 2**-6 fixed point, +-127
        codes = [(-1 if v[0] else 1) * min(_rne_int(v[1] / scale * 64), 127) for v in x]
        return shared + 127, codes, [const(Fraction(c, 64) * scale) for c in codes]
    t = oracle.table(spec)
    codes = [oracle.encode_value(t, v[0], v[1] / scale, saturate=True) for v in x]
    vals = []
    for c in codes:
        s, mag = oracle.decode(spec, c)
        vals.append((s, mag * scale))
    return shared + 127, codes, vals


def nvfp4(x_bits: list[int]):
    """NVFP4 as ``simlow.quant.mx`` defines it (torchao's two-level scaling, float32, one
    rounding per operation): (per-tensor scale, E4M3 scale codes, E2M1 codes, values)."""
    x = _f32s(x_bits)
    amax = max(v[1] for v in x)
    pts = div((0, amax), const(2688)) if amax else const(1)
    e4m3, e2m1 = oracle.table(oracle.E4M3FN), oracle.table(oracle.E2M1)
    s_codes, codes, vals = [], [], []
    for i in range(0, len(x), 16):
        s = div(div((0, max(v[1] for v in x[i:i + 16])), const(6)), pts)
        s = (0, min(max(s[1], Fraction(1, 64)), Fraction(448)))
        s_code = oracle.encode_value(e4m3, 0, s[1])
        total = mul(pts, (0, oracle.decode(oracle.E4M3FN, s_code)[1]))
        s_codes.append(s_code)
        for v in x[i:i + 16]:
            q = div(v, total)
            c = oracle.encode_value(e2m1, q[0], min(q[1], Fraction(6)))
            codes.append(c)
            sign, mag = oracle.decode(oracle.E2M1, c)
            vals.append(mul((sign, mag), total))
    return pts, s_codes, codes, vals
