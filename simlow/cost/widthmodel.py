"""How a primitive's energy and area grow with its widths, and curves through anchors.

A ``WidthModel`` maps a primitive's shape to one *feature*; cost is taken to be a
piecewise-linear, increasing function of that feature through the published anchors:

=================  ====================================  =======================================
model              feature                               basis
=================  ====================================  =======================================
linear             width                                 adders, registers, muxes: one cell per
                                                         bit (Aladdin / hwcomponents ``linear``)
product            width * width2 (width2 = width if 0)  array multiplier: one partial-product
                                                         cell per bit pair (Aladdin,
                                                         hwcomponents ``quadratic``)
barrel             width * ceil(log2(width2 + 1))        log shifter: one 2:1 mux column per
                                                         output bit per stage; ``width`` is the
                                                         output bits, ``width2`` the largest
                                                         shift (hwcomponents ``nlog_base``)
fp_width           total bits of the format              FP adder (align, add, normalise all
                                                         ~linear in width); assumption
fp_significand     (mantissa bits + 1) ** 2              FP multiplier dominated by its
                                                         significand array; exponent logic
                                                         neglected (assumption)
sram               width * sqrt(capacity in bytes)       per-access energy linear in word width;
                                                         sqrt(capacity) fits the Horowitz 8 KB /
                                                         32 KB / 1 MB points (x2, x10 for x4, x128)
=================  ====================================  =======================================

Evaluation (``Curve.evaluate``): at an anchor's feature, the anchor's value exactly;
between two anchors, linear interpolation in the feature; outside the anchors, the
nearest end anchor scaled by feature ratio (value * f / f_anchor), which is how
hwcomponents' ``scale()`` carries a reference value to another width. A feature of 0
(a shifter with no shift range) costs 0.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Callable

from simlow.numerics import fp_format
from simlow.specs.sourced import Confidence, Sourced, weakest
from simlow.errors import SimlowError


class WidthModel(enum.Enum):
    LINEAR = "linear"
    PRODUCT = "product"
    BARREL = "barrel"
    FP_WIDTH = "fp_width"
    FP_SIGNIFICAND = "fp_significand"
    SRAM = "sram"


@dataclass(frozen=True)
class Shape:
    """The widths that set a primitive's cost (the fields a model does not use stay 0/"")."""

    width: int = 0
    width2: int = 0
    fmt: str = ""
    capacity_bytes: int = 0

    def describe(self) -> str:
        parts = [f"{self.width}b"] if self.width else []
        if self.width2:
            parts.append(f"x{self.width2}")
        if self.fmt:
            parts.append(self.fmt)
        if self.capacity_bytes:
            parts.append(f"{self.capacity_bytes}B")
        return " ".join(parts)


def feature(model: WidthModel, shape: Shape) -> float:
    """The scalar the cost of ``shape`` grows with under ``model`` (table above)."""
    if model is WidthModel.LINEAR:
        return float(_need(shape.width, "width", model))
    if model is WidthModel.PRODUCT:
        w = _need(shape.width, "width", model)
        return float(w * (shape.width2 or w))
    if model is WidthModel.BARREL:
        return float(_need(shape.width, "width", model) * math.ceil(math.log2(shape.width2 + 1)))
    if model is WidthModel.FP_WIDTH:
        return float(fp_format(_need_fmt(shape, model)).bits)
    if model is WidthModel.FP_SIGNIFICAND:
        return float(fp_format(_need_fmt(shape, model)).significand_bits ** 2)
    if model is WidthModel.SRAM:
        cap = _need(shape.capacity_bytes, "capacity_bytes", model)
        return _need(shape.width, "width", model) * math.sqrt(cap)
    raise AssertionError(model)  # pragma: no cover - enum is closed


def _need(value: int, name: str, model: WidthModel) -> int:
    if value <= 0:
        raise SimlowError(f"{model.value} cost needs {name} > 0, got {value}")
    return value


def _need_fmt(shape: Shape, model: WidthModel) -> str:
    if not shape.fmt:
        raise SimlowError(f"{model.value} cost needs a floating-point format (fmt)")
    return shape.fmt


@dataclass(frozen=True)
class Anchor:
    """A published point: ``shape`` costs ``value`` at the base node.

    ``raw`` is the number as published; ``value = raw.value * norm`` where ``norm`` is 1
    unless the point comes from another library and is carried over as a ratio to that
    library's adder (``norm_note`` says how). ``jouppi_class`` names the TPUv4i table row
    whose 45->7 nm energy ratio applies to it under the ``jouppi7`` rule (or "").
    """

    shape: Shape
    feature: float
    raw: Sourced
    norm: float = 1.0
    norm_note: str = ""
    norm_confidence: Confidence | None = None
    jouppi_class: str = ""

    @property
    def value(self) -> float:
        return self.raw.value * self.norm

    @property
    def confidence(self) -> Confidence:
        if self.norm_confidence is None:
            return self.raw.confidence
        return weakest([self.raw.confidence, self.norm_confidence, Confidence.D])

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.raw.source, self.norm_note) if self.norm_note else (self.raw.source,)


@dataclass(frozen=True)
class Estimate:
    """A cost with how it was obtained."""

    value: float
    basis: str
    confidence: Confidence
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Curve:
    """Anchors sorted by feature (strictly increasing), evaluated as described above."""

    anchors: tuple[Anchor, ...]

    def evaluate(self, f: float, factor: Callable[[Anchor], float]) -> Estimate:
        """Cost at feature ``f``; each anchor's value is first multiplied by ``factor(anchor)``
        (the node scaling for that anchor)."""
        if not self.anchors:
            raise SimlowError("no published anchor for this quantity")
        if f == 0:
            return Estimate(0.0, "zero-size instance", Confidence.D, ())
        a = self.anchors
        if f <= a[0].feature or f >= a[-1].feature:
            end = a[0] if f <= a[0].feature else a[-1]
            v = end.value * factor(end) * f / end.feature
            if f == end.feature:
                return Estimate(v, f"anchor {end.shape.describe()}", end.confidence, end.sources)
            conf = weakest([end.confidence, Confidence.D])
            return Estimate(v, f"anchor {end.shape.describe()} scaled by feature ratio {f / end.feature:.4g}",
                            conf, end.sources)
        for lo, hi in zip(a, a[1:]):
            if lo.feature <= f <= hi.feature:
                t = (f - lo.feature) / (hi.feature - lo.feature)
                v = (1 - t) * lo.value * factor(lo) + t * hi.value * factor(hi)
                if f in (lo.feature, hi.feature):
                    end = lo if f == lo.feature else hi
                    return Estimate(v, f"anchor {end.shape.describe()}", end.confidence, end.sources)
                conf = weakest([lo.confidence, hi.confidence, Confidence.D])
                return Estimate(v, f"interpolated between {lo.shape.describe()} and {hi.shape.describe()}",
                                conf, lo.sources + hi.sources)
        raise AssertionError("unreachable")  # pragma: no cover
