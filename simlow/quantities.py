"""Quantities with units: parsed once at the boundary into SI base units.

``parse("3.35 TB/s", Dim.BANDWIDTH) == 3.35e12`` (bytes per second). Internally simlow
works in SI base units only (bytes, seconds, joules, watts, hertz, metres, square metres,
operations per second); Python names carry the unit (``bandwidth_Bps``, ``energy_J``).

Decimal prefixes are powers of 1000 (GB = 1e9 bytes, as memory vendors and GPU datasheets
quote bandwidth); binary prefixes are powers of 1024 (GiB = 2**30). Text without a unit,
with an unknown unit, with a unit of the wrong kind, or with a negative amount is refused
with a ``SimlowError`` that quotes the text.
"""

from __future__ import annotations

import enum
import math
import re

from simlow.errors import SimlowError


class Dim(enum.Enum):
    BYTES = "bytes"
    BANDWIDTH = "bytes/s"
    FREQUENCY = "Hz"
    POWER = "W"
    ENERGY = "J"
    ENERGY_PER_BIT = "J/bit"
    LENGTH = "m"
    AREA = "m^2"
    TIME = "s"
    OPS_RATE = "ops/s"


_DEC = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_BIN = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}
_SUB = {"": 1.0, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}


def _table() -> dict[str, tuple[float, Dim]]:
    t: dict[str, tuple[float, Dim]] = {}
    for p, f in {**_DEC, **_BIN}.items():
        t[f"{p}B"] = (f, Dim.BYTES)
        t[f"{p}B/s"] = (f, Dim.BANDWIDTH)
        t[f"{p}bit/s"] = (f / 8, Dim.BANDWIDTH)
    for p, f in _DEC.items():
        t[f"{p}Hz"] = (f, Dim.FREQUENCY)
        t[f"{p}W"] = (f, Dim.POWER)
        for name in ("FLOP/s", "FLOPS", "OP/s", "OPS"):
            t[f"{p}{name}"] = (f, Dim.OPS_RATE)
    for p, f in _SUB.items():
        t[f"{p}W"] = (f, Dim.POWER) if p else t["W"]
        t[f"{p}J"] = (f, Dim.ENERGY)
        t[f"{p}J/bit"] = (f, Dim.ENERGY_PER_BIT)
        t[f"{p}J/b"] = (f, Dim.ENERGY_PER_BIT)
        t[f"{p}J/B"] = (f / 8, Dim.ENERGY_PER_BIT)
        t[f"{p}s"] = (f, Dim.TIME)
        t[f"{p}m"] = (f, Dim.LENGTH)
        for sq in ("^2", "2"):
            t[f"{p}m{sq}"] = (f * f, Dim.AREA)
    t["mm"] = (1e-3, Dim.LENGTH)
    for sq in ("^2", "2"):
        t[f"mm{sq}"] = (1e-6, Dim.AREA)
    t["kHz"] = (1e3, Dim.FREQUENCY)
    t["kW"] = (1e3, Dim.POWER)
    return t


UNITS: dict[str, tuple[float, Dim]] = _table()
_DIGITS = r"\d+(?:_\d+)*"     # 1000 or 1_000
_PATTERN = re.compile(rf"^\s*([-+]?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")


def parse(text: str | int | float, expect: Dim) -> float:
    """Parse ``text`` (for example ``"819 GB/s"``) into SI base units of dimension ``expect``."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise SimlowError(f"expected a quantity in {expect.value} such as '1.5 GHz', got {text!r}")
    match = _PATTERN.match(str(text))
    if not match:
        raise SimlowError(f"cannot read {text!r} as a number with a unit of {expect.value}")
    number, unit = match.groups()
    if not unit:
        raise SimlowError(f"{text!r} has no unit; expected a quantity in {expect.value}")
    if unit not in UNITS:
        units = sorted(u for u, (_, d) in UNITS.items() if d is expect)
        raise SimlowError(f"unknown unit {unit!r} in {text!r} (units of {expect.value}: {', '.join(units)})")
    factor, dim = UNITS[unit]
    if dim is not expect:
        raise SimlowError(f"{text!r} is a quantity in {dim.value}, expected {expect.value}")
    value = float(number)
    if value < 0 or not math.isfinite(value):
        raise SimlowError(f"{text!r} must be a finite, non-negative amount")
    return value * factor


def fmt_bytes(n: float) -> str:
    """Human-readable binary size: ``fmt_bytes(3.56 * 2**30) == '3.56 GiB'``."""
    for unit, f in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= f:
            return f"{n / f:.2f} {unit}"
    return f"{n:.0f} B"
