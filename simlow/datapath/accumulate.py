"""A two's-complement accumulator of ``bits`` bits under an overflow policy.

``accumulate(parts, bits, policy)`` adds a sequence of exact int64 partial sums (one per
step, each shaped like the output) into a running accumulator, in order:

- ``WRAP``: ``acc = wrap(acc + part)``; an overflow event is a step whose exact
  ``acc + part`` left the range (the value wrapped).
- ``SATURATE_EACH_STEP``: ``acc = clamp(acc + part)``; a saturation event is a step whose
  clamp changed the value.
- ``SATURATE_AT_END``: ``acc`` is exact throughout (int64) and clamped once at the end;
  one saturation event per clamped output.

Range: ``[-2^(bits-1), 2^(bits-1) - 1]``. ``wrap(x) = ((x + 2^(bits-1)) mod 2^bits) -
2^(bits-1)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from simlow.datapath.configs import Overflow


@dataclass(frozen=True)
class AccResult:
    value: np.ndarray   # int64, the accumulator contents
    overflows: int      # wrap events
    saturations: int    # clamp events


def limits(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


def clamp(x: np.ndarray, bits: int) -> np.ndarray:
    lo, hi = limits(bits)
    return np.clip(x, lo, hi)


def fits(bound: int, bits: int) -> bool:
    """True if every value of magnitude <= ``bound`` is in the range (no event possible)."""
    return bound <= (1 << (bits - 1)) - 1


def restrict(x: np.ndarray, bits: int, policy: Overflow) -> tuple[np.ndarray, int]:
    """Bring ``x`` into range by ``policy`` (wrap or clamp); also return how many changed."""
    lo, hi = limits(bits)
    n = int(np.count_nonzero((x < lo) | (x > hi)))
    if n == 0:
        return x, 0
    return (wrap(x, bits) if policy is Overflow.WRAP else clamp(x, bits)), n


def accumulate(parts: Iterable[np.ndarray], bits: int, policy: Overflow) -> AccResult:
    """Run the accumulator over ``parts`` (exact int64 step sums, in K order)."""
    acc = None
    events = 0
    for part in parts:
        acc = part.astype(np.int64) if acc is None else acc + part
        if policy is not Overflow.SATURATE_AT_END:
            acc, n = restrict(acc, bits, policy)
            events += n
    if acc is None:
        raise ValueError("accumulate needs at least one step")
    if policy is Overflow.SATURATE_AT_END:
        acc, events = restrict(acc, bits, Overflow.SATURATE_EACH_STEP)
    if policy is Overflow.WRAP:
        return AccResult(acc, events, 0)
    return AccResult(acc, 0, events)
