"""Off-chip memory and link energy per transferred bit, by interface type.

Loaded strictly from ``simlow/data/cost/memory.yaml``. These figures are properties of the
DRAM device or link standard and are not scaled by the logic node. ``boundary`` records
what a figure includes (``device``: DRAM device incl. its I/O; ``module``: DIMM level;
``link``: both link ends); mixing boundaries can be off by about 2x (Micron HBM2E 6.0 against FGDRAM's HBM2 3.97).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from simlow.cost.primitives import DATA_DIR
from simlow.cost.sourced import Confidence, parse_confidence
from simlow.cost.strictyaml import Ctx, mapping, number, read_yaml, text
from simlow.errors import unknown_name

MEMORY_FILE = DATA_DIR / "memory.yaml"


class Boundary(enum.Enum):
    DEVICE = "device"
    MODULE = "module"
    LINK = "link"


@dataclass(frozen=True)
class InterfaceEnergy:
    """Energy per bit moved over one interface type, with a sweep range where uncertain."""

    name: str
    kind: str  # "dram" or "link"
    pJ_per_bit: float
    low: float
    high: float
    boundary: Boundary
    source: str
    confidence: Confidence

    def energy_pJ(self, bits: float) -> float:
        """Energy of moving ``bits`` bits at the central figure."""
        return self.pJ_per_bit * bits


@dataclass(frozen=True)
class MemoryTable:
    file: str
    entries: tuple[InterfaceEnergy, ...]

    def get(self, name: str) -> InterfaceEnergy:
        key = name.lower().replace("-", "_")
        for e in self.entries:
            if e.name == key:
                return e
        raise unknown_name("memory/link interface", name, [e.name for e in self.entries])


@lru_cache(maxsize=8)
def load_memory(path: Path = MEMORY_FILE) -> MemoryTable:
    ctx = Ctx(str(path))
    top = mapping(read_yaml(Path(path)), ctx, ("version", "dram", "link"))
    if top["version"] != 1:
        raise ctx.at("version").error(f"unsupported schema version {top['version']!r} (valid: 1)")
    out = []
    for kind in ("dram", "link"):
        section = top[kind]
        if not isinstance(section, dict) or not section:
            raise ctx.at(kind).error("expected a non-empty mapping of interface names")
        for name, raw in section.items():
            out.append(_entry(str(name), kind, raw, ctx.at(kind).at(str(name))))
    return MemoryTable(str(path), tuple(out))


def _entry(name: str, kind: str, raw: Any, ctx: Ctx) -> InterfaceEnergy:
    m = mapping(raw, ctx, ("pJ_per_bit", "boundary", "confidence", "source"), ("low", "high"))
    value = number(m["pJ_per_bit"], ctx.at("pJ_per_bit"), positive=True)
    low = number(m.get("low", value), ctx.at("low"), positive=True)
    high = number(m.get("high", value), ctx.at("high"), positive=True)
    if not low <= value <= high:
        raise ctx.error(f"expected low <= pJ_per_bit <= high, got {low} <= {value} <= {high}")
    try:
        boundary = Boundary(m["boundary"])
    except ValueError:
        valid = ", ".join(b.value for b in Boundary)
        raise ctx.at("boundary").error(f"unknown boundary {m['boundary']!r} (valid: {valid})") from None
    return InterfaceEnergy(name, kind, value, low, high, boundary, text(m["source"], ctx.at("source")),
                           parse_confidence(m["confidence"], ctx.at("confidence")))
