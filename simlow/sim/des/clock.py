"""Simulated time: integer picoseconds, so sums are exact and runs repeat bit for bit.

Every duration entering the simulation is rounded *up* to a whole picosecond (``ps``), so a
simulated interval is never shorter than the analytical one it stands for; the excess is
below 1 ps per rounded term.
"""

from __future__ import annotations

import math
from fractions import Fraction

PS_PER_S = 10**12


def ps(seconds: float) -> int:
    """``seconds`` as whole picoseconds, rounded up (exactly: through the float's Fraction)."""
    if seconds <= 0:
        return 0
    return math.ceil(Fraction(seconds) * PS_PER_S)


def rate_per_ps(bytes_per_s: float) -> Fraction:
    """A bandwidth in bytes per picosecond, rounded *down* to a whole byte per second (so a
    transfer never completes sooner than at the exact rate)."""
    whole = math.floor(bytes_per_s)
    if whole < 1:
        raise ValueError(f"bandwidth below 1 B/s: {bytes_per_s}")
    return Fraction(whole, PS_PER_S)


def seconds(picoseconds: int | float | Fraction) -> float:
    return float(Fraction(picoseconds) / PS_PER_S) if isinstance(picoseconds, (int, Fraction)) else picoseconds / PS_PER_S
