"""What a claim asserts about a figure: one value, a range, or a one-sided limit.

A claimed figure is an interval ``[low, high]`` of values the claim allows:

=====================  ===================  ==================================================
claim file             interval             example
=====================  ===================  ==================================================
``claimed: 100``       ``[100, 100]``       "runs at 100 tok/s"
``claimed: [50 GB/s,   ``[50e9, 90e9]``     "the 50-90 GB/s bandwidth of a mobile device"
90 GB/s]``
``claimed: 0.55``      ``[0, 0.55]``        "would run at 55% of native speed at best"
``sense: at_most``
``claimed: 40 GB``     ``[40e9, inf]``      "needed 40+ GB"
``sense: at_least``
=====================  ===================  ==================================================

The checker compares a claim with a reference figure (a hard bound, simlow's value) at the
point of the interval nearest that figure (``near``): a reference inside the interval
satisfies the claim exactly, so a range is met when the hardware reaches any value in it,
and a one-sided limit is met by every value on its side. ``low`` and ``high`` are in the
metric's unit, or are factors for a relative claim.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from simlow.claims.metrics import Metric
from simlow.errors import SimlowError
from simlow.quantities import parse
from simlow.specs.yamlfile import check_number

class Sense(enum.Enum):
    """How the claimed figure bounds the truth (the ``sense`` key of a claim file)."""

    VALUE = "value"          # a number or a range
    AT_MOST = "at_most"      # "at best 55%"
    AT_LEAST = "at_least"    # "40+ GB"


@dataclass(frozen=True)
class Claimed:
    low: float
    high: float
    sense: Sense = Sense.VALUE

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= self.high:
            raise ValueError(f"claimed interval needs 0 <= low <= high, got [{self.low}, {self.high}]")

    @classmethod
    def value(cls, x: float) -> "Claimed":
        return cls(x, x)

    @classmethod
    def at_most(cls, x: float) -> "Claimed":
        return cls(0.0, x, Sense.AT_MOST)

    @classmethod
    def at_least(cls, x: float) -> "Claimed":
        return cls(x, math.inf, Sense.AT_LEAST)

    @property
    def is_range(self) -> bool:
        return self.sense is Sense.VALUE and self.low != self.high

    @property
    def stated(self) -> float:
        """The figure the claim writes (the one number of a one-sided limit; a range's middle)."""
        if self.sense is Sense.AT_MOST:
            return self.high
        if self.sense is Sense.AT_LEAST:
            return self.low
        return (self.low + self.high) / 2

    def near(self, ref: float) -> float:
        """The value the claim allows that is nearest ``ref``."""
        return min(max(ref, self.low), self.high)

    def text(self, fmt) -> str:
        """The claim in words, each figure through ``fmt`` (e.g. ``"50 GB/s to 90 GB/s"``)."""
        if self.sense is Sense.AT_MOST:
            return f"at most {fmt(self.high)}"
        if self.sense is Sense.AT_LEAST:
            return f"at least {fmt(self.low)}"
        return f"{fmt(self.low)} to {fmt(self.high)}" if self.is_range else fmt(self.low)

    def to_json(self) -> float | dict:
        if self.sense is Sense.VALUE and not self.is_range:
            return self.low
        return {"sense": self.sense.value, "low": self.low, "high": None if math.isinf(self.high) else self.high}


def read_claimed(r, metric, relative: bool) -> "Claimed | bool":
    """The ``claimed`` (and ``sense``) keys of a claim, from a ``simlow.specs.yamlfile.Reader``."""
    sense = Sense(r.str("sense", default=Sense.VALUE.value, choices=tuple(x.value for x in Sense)))
    if metric is Metric.FITS:
        if relative:
            r.fail("a fits claim cannot have a baseline", "baseline")
        if sense is not Sense.VALUE:
            r.fail("a fits claim is true or false; drop sense", "sense")
        return r.bool("claimed")
    raw = r.data.get("claimed")
    if isinstance(raw, list):
        if sense is not Sense.VALUE or len(raw) != 2:
            r.fail("a range is a list of two figures [low, high] (and no sense)", "claimed")
        low, high = (_figure(r, metric, relative, x) for x in raw)
        if not low < high:
            r.fail(f"a range needs low < high, got [{raw[0]}, {raw[1]}]", "claimed")
        r.has("claimed")
        return Claimed(low, high)
    value = _figure(r, metric, relative, raw)
    r.has("claimed")
    return {Sense.VALUE: Claimed.value, Sense.AT_MOST: Claimed.at_most, Sense.AT_LEAST: Claimed.at_least}[sense](value)


def _figure(r, metric, relative: bool, raw) -> float:
    """One claimed figure: a number, or a quantity with a unit where the metric has one."""
    if raw is None:
        r.fail("missing required key", "claimed")
    if isinstance(raw, str) and metric.dim is not None and not relative:
        try:
            value = parse(raw, metric.dim)
        except SimlowError as err:
            r.fail(str(err), "claimed")
    elif isinstance(raw, bool) or not isinstance(raw, (int, float)):
        r.fail(f"expected a number{' or a quantity with a unit' if metric.dim else ''}, got {raw!r}", "claimed")
    else:
        check_number(raw, lambda m: r.fail(m, "claimed"))
        value = float(raw)
    if value <= 0:
        r.fail("must be greater than zero", "claimed")
    return value
