"""Numbers that carry their source.

In a spec, every hardware number says where it comes from. A quantity is written either
inline with its own source::

    bandwidth: {value: 3.35 TB/s, source: "NVIDIA H100 datasheet"}

or plainly, covered by the ``source:`` of the mapping that holds it (or of any mapping
above it)::

    memory:
      - name: hbm
        source: "NVIDIA H100 datasheet"
        bandwidth: 3.35 TB/s

A source that starts with ``assumed:`` or ``derived:`` marks a value that no datasheet
gives directly. ``SourceBook`` collects ``key path -> source`` for every number read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simlow.specs.yamlfile import Reader
from simlow.quantities import Dim


@dataclass
class SourceBook:
    """Key path -> (value as written, source), filled while a spec is read."""

    entries: dict[str, tuple[str, str]] = field(default_factory=dict)

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
            inner = r.sub(key)
            value = inner.quantity("value", dim)
            source = inner.str("source")
            inner.done()
            text = str(raw["value"])
        else:
            value = r.quantity(key, dim)
            source = inherited
            text = str(raw)
        if not source:
            r.fail("has no source: give it inline ({value: ..., source: ...}) or a source: "
                   "in the mapping that holds it", key)
        if positive and not value > 0:
            r.fail(f"{text} is not possible: must be greater than zero", key)
        self.entries[r.where(key).split(": ", 1)[-1]] = (text, source)
        return value

    def number(self, r: Reader, key: str, inherited: str | None, default: float | None = None,
               lo: float | None = None, hi: float | None = None) -> float | None:
        """A unitless number (a fraction, a count) with its source."""
        if not r.has(key):
            return default
        raw = r.data[key]
        if isinstance(raw, dict):
            inner = r.sub(key)
            value = inner.number("value", lo=lo, hi=hi)
            source = inner.str("source")
            inner.done()
        else:
            value = r.number(key, lo=lo, hi=hi)
            source = inherited
        if not source:
            r.fail("has no source", key)
        self.entries[r.where(key).split(": ", 1)[-1]] = (str(value), source)
        return value
