"""Numbers that carry their source: ``Sourced`` (a frozen value, its source and a
``Confidence`` tag), the one provenance type of hardware specs and cost tables.

``Confidence`` follows the tags of the cost data notes: ``V`` verified in the primary
artifact, ``S`` secondary (read in a copy that quotes the primary), ``R`` recalled (widely
cited, not re-read), ``D`` derived from such inputs by a stated formula, ``A`` assumed by
simlow (a modelling or design choice, stated where it is made).

A cost table gives every figure as ``{value, source, confidence}`` (``read_sourced``). In a
hardware spec a quantity is written either inline with its own source::

    bandwidth: {value: 3.35 TB/s, source: "NVIDIA H100 datasheet"}

or plainly, covered by the ``source:`` of the mapping that holds it (or of any mapping
above it)::

    memory:
      - name: hbm
        source: "NVIDIA H100 datasheet"
        bandwidth: 3.35 TB/s

An inline quantity may add ``confidence:``; otherwise the source's wording sets it
(``confidence_of``): ``assumed:`` -> A, ``derived:`` -> D, ``design choice:`` -> A, and any
other citation S (the spec transcribes a datasheet or vendor page; V needs a person who
checked the primary artifact to say so). ``SourceBook`` collects ``key path -> Sourced``
for every number a spec loader reads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable

from simlow.quantities import Dim
from simlow.specs.yamlfile import Reader


class Confidence(enum.Enum):
    V = "V"  # verified in the primary artifact
    S = "S"  # secondary: read in a copy that quotes the primary
    R = "R"  # recalled: widely cited, not re-read; check before relying on it
    D = "D"  # derived from V/S/R inputs by a stated formula
    A = "A"  # assumed by simlow (a modelling choice)


_ORDER = {Confidence.V: 0, Confidence.S: 1, Confidence.D: 2, Confidence.R: 3, Confidence.A: 4}
_PREFIXES = (("assumed", Confidence.A), ("derived", Confidence.D), ("design choice", Confidence.A))


def weakest(tags: Iterable[Confidence]) -> Confidence:
    """The least trustworthy of several tags (V < S < D < R < A)."""
    return max(tags, key=_ORDER.__getitem__)


@dataclass(frozen=True)
class Sourced:
    """``value`` with the ``source`` it was read from and a ``confidence`` tag; ``text`` is
    the value as a spec wrote it (``"3.35 TB/s"``; empty for cost-table figures)."""

    value: float
    source: str
    confidence: Confidence
    text: str = ""


def confidence_of(source: str) -> Confidence:
    """The tag a source's wording implies (see the module doc)."""
    low = source.lstrip().lower()
    return next((c for p, c in _PREFIXES if low.startswith(p)), Confidence.S)


def read_confidence(r: Reader, key: str = "confidence") -> Confidence:
    raw = r.str(key)
    try:
        return Confidence(raw)
    except ValueError:
        valid = ", ".join(c.value for c in Confidence)
        r.fail(f"unknown confidence {raw!r} (valid: {valid})", key)
        raise AssertionError from None  # pragma: no cover - fail raises


def read_sourced(r: Reader, key: str, positive: bool = True) -> Sourced:
    """``key: {value, source, confidence}`` -> Sourced (``positive`` demands value > 0)."""
    inner = r.sub(key)
    s = Sourced(inner.number("value", positive=positive), inner.str("source", nonempty=True),
                read_confidence(inner))
    inner.done()
    return s


@dataclass
class SourceBook:
    """Key path -> ``Sourced``, filled while a spec is read (the loader's accumulator)."""

    entries: dict[str, Sourced] = field(default_factory=dict)

    def section_source(self, r: Reader, inherited: str | None) -> str | None:
        """The ``source:`` of mapping ``r``, or the one inherited from above."""
        own = r.str("source", default="")
        return own or inherited

    def quantity(self, r: Reader, key: str, dim: Dim, inherited: str | None,
                 default: float | None = None, positive: bool = False,
                 required: bool = False) -> float | None:
        """Read ``key`` of ``r`` as a quantity of ``dim``, recording its source.

        ``positive`` refuses zero (the unit parser already refuses negative amounts): no
        device has a zero clock, bandwidth, capacity, peak rate or power. ``required``
        refuses a missing key."""
        if not r.has(key):
            if required:
                r.fail("missing required key", key)
            return default
        raw = r.data[key]
        if isinstance(raw, dict):
            value, source, tag = self._inline(r, key, lambda inner: inner.quantity("value", dim))
            text = str(raw["value"])
        else:
            value, source, tag = r.quantity(key, dim), inherited, None
            text = str(raw)
        source = self._need(r, key, source)
        if positive and not value > 0:
            r.fail(f"{text} is not possible: must be greater than zero", key)
        self._record(r, key, Sourced(value, source, tag or confidence_of(source), text))
        return value

    def number(self, r: Reader, key: str, inherited: str | None, default: float | None = None,
               lo: float | None = None, hi: float | None = None) -> float | None:
        """A unitless number (a fraction, a count) with its source."""
        if not r.has(key):
            return default
        if isinstance(r.data[key], dict):
            value, source, tag = self._inline(r, key, lambda inner: inner.number("value", lo=lo, hi=hi))
        else:
            value, source, tag = r.number(key, lo=lo, hi=hi), inherited, None
        source = self._need(r, key, source)
        self._record(r, key, Sourced(value, source, tag or confidence_of(source), str(value)))
        return value

    @staticmethod
    def _inline(r: Reader, key: str, read) -> tuple[float, str, Confidence | None]:
        inner = r.sub(key)
        value = read(inner)
        source = inner.str("source")
        tag = read_confidence(inner) if inner.has("confidence") else None
        inner.done()
        return value, source, tag

    @staticmethod
    def _need(r: Reader, key: str, source: str | None) -> str:
        if not source:
            r.fail("has no source: give it inline ({value: ..., source: ...}) or a source: "
                   "in the mapping that holds it", key)
        return source  # type: ignore[return-value]

    def _record(self, r: Reader, key: str, s: Sourced) -> None:
        self.entries[r.where(key).split(": ", 1)[-1]] = s
