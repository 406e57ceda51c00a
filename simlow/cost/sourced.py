"""A number with its provenance: every figure in the cost tables carries one.

``Confidence`` says how a number was read (V, S, R, D: see the enum) plus ``A`` for a
value simlow assumes (a modelling choice, stated where it is made).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from simlow.cost.strictyaml import Ctx, mapping, number, text


class Confidence(enum.Enum):
    V = "V"  # verified in the primary artifact
    S = "S"  # secondary: read in a copy that quotes the primary
    R = "R"  # recalled: widely cited, not re-read; check before relying on it
    D = "D"  # derived from V/S/R inputs by a stated formula
    A = "A"  # assumed by simlow (a modelling choice)


_ORDER = {Confidence.V: 0, Confidence.S: 1, Confidence.D: 2, Confidence.R: 3, Confidence.A: 4}


def weakest(tags) -> Confidence:
    """The least trustworthy of several tags (V < S < D < R < A)."""
    return max(tags, key=_ORDER.__getitem__)


@dataclass(frozen=True)
class Sourced:
    """``value`` with the ``source`` it was read from and a ``confidence`` tag."""

    value: float
    source: str
    confidence: Confidence


def parse_confidence(raw: Any, ctx: Ctx) -> Confidence:
    try:
        return Confidence(raw)
    except ValueError:
        valid = ", ".join(c.value for c in Confidence)
        raise ctx.error(f"unknown confidence {raw!r} (valid: {valid})") from None


def parse_sourced(raw: Any, ctx: Ctx, positive: bool = True) -> Sourced:
    """``{value, source, confidence}`` -> Sourced."""
    m = mapping(raw, ctx, ("value", "source", "confidence"))
    return Sourced(
        number(m["value"], ctx.at("value"), positive=positive),
        text(m["source"], ctx.at("source")),
        parse_confidence(m["confidence"], ctx.at("confidence")),
    )
