"""Off-chip memory and link energy per transferred bit, by interface type.

Loaded strictly from ``simlow/data/cost/memory.yaml``. These figures are properties of the
DRAM device or link standard and are not scaled by the logic node. ``boundary`` records
what a figure includes (``device``: DRAM device incl. its I/O; ``module``: DIMM level;
``link``: both link ends); mixing boundaries can be off by about 2x (Micron HBM2E 6.0 against FGDRAM's HBM2 3.97).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from simlow.cost.primitives import DATA_DIR
from simlow.specs.filememo import FileMemo
from simlow.errors import unknown_name
from simlow.specs.sourced import Confidence, read_confidence
from simlow.specs.yamlfile import Reader, check_version, load_yaml

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


def _read_memory(path: Path) -> MemoryTable:
    r = Reader(load_yaml(path), str(path))
    check_version(r)
    out = []
    for kind in ("dram", "link"):
        section = r.sub(kind)
        if not section.data:
            section.fail("expected a non-empty mapping of interface names")
        out += [_entry(str(name), kind, section.sub(name)) for name in list(section.data)]
        section.done()
    r.done()
    return MemoryTable(str(path), tuple(out))


# The table (default: the shipped file), memoized by the file's bytes: an edited file is read again.
load_memory = FileMemo(_read_memory, MEMORY_FILE)


def _entry(name: str, kind: str, r: Reader) -> InterfaceEnergy:
    value = r.number("pJ_per_bit", positive=True)
    low = r.number("low", default=value, positive=True)
    high = r.number("high", default=value, positive=True)
    if not low <= value <= high:
        r.fail(f"expected low <= pJ_per_bit <= high, got {low} <= {value} <= {high}")
    boundary = Boundary(r.str("boundary", choices=tuple(b.value for b in Boundary)))
    entry = InterfaceEnergy(name, kind, value, low, high, boundary, r.str("source", nonempty=True),
                            read_confidence(r))
    r.done()
    return entry
