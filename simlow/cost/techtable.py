"""The priced technology table at one node and rule: a dumpable, diffable listing.

One row per (primitive, shape) at a fixed list of representative shapes (``SHAPES``), plus
one row per DRAM/link interface. ``to_json`` / ``to_csv`` give stable text so two nodes or
two rules can be compared with ``diff``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from simlow.cost.memory import MemoryTable, load_memory
from simlow.cost.pricing import Tech, area_um2, energy_pJ, rows_to_csv
from simlow.cost.widthmodel import Shape

SHAPES: tuple[tuple[str, Shape], ...] = (
    *(("int_add", Shape(width=w)) for w in (4, 8, 12, 16, 20, 24, 32)),
    *(("int_mul", Shape(width=a, width2=b)) for a, b in ((3, 8), (4, 4), (4, 8), (8, 8), (16, 16), (32, 32))),
    *(("shift", Shape(width=w, width2=r)) for w, r in ((10, 2), (14, 6), (16, 15), (32, 31))),
    *(("mux", Shape(width=w)) for w in (1, 8, 32)),
    *(("negate", Shape(width=w)) for w in (8, 16, 32)),
    ("reg", Shape(width=1)),
    *(("fp_add", Shape(fmt=f)) for f in ("e4m3", "e5m2", "fp16", "bf16", "e8m13", "fp32")),
    *(("fp_mul", Shape(fmt=f)) for f in ("e4m3", "e5m2", "fp16", "bf16", "e8m13", "fp32")),
    *((op, Shape(width=64, capacity_bytes=c)) for op in ("sram_read", "sram_write")
      for c in (8192, 32768, 262144, 1048576)),
)


@dataclass(frozen=True)
class TableRow:
    primitive: str
    shape: str
    energy_pJ: float
    area_um2: float | None
    energy_confidence: str
    area_confidence: str
    energy_basis: str
    area_basis: str
    sources: str


@dataclass(frozen=True)
class TechTable:
    node_nm: int
    rule: str
    rows: tuple[TableRow, ...]
    interfaces: tuple[dict, ...]

    def to_dict(self) -> dict:
        return {"node_nm": self.node_nm, "rule": self.rule, "primitives": [asdict(r) for r in self.rows],
                "interfaces_pJ_per_bit": list(self.interfaces)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def csv_rows(self) -> list[dict]:
        return [{"node_nm": self.node_nm, "rule": self.rule, **asdict(r)} for r in self.rows]

    def to_csv(self) -> str:
        return rows_to_csv(self.csv_rows())


def technology_table(tech: Tech, memory: MemoryTable | None = None,
                     shapes: tuple[tuple[str, Shape], ...] = SHAPES) -> TechTable:
    """Every primitive of ``shapes`` priced at ``tech``, and the interface energies."""
    rows = []
    for name, shape in shapes:
        e = energy_pJ(tech, name, shape)
        has_area = bool(tech.primitives.get(name).area_um2.anchors)
        a = area_um2(tech, name, shape) if has_area else None
        srcs = tuple(dict.fromkeys(e.sources + (a.sources if a else ())))
        rows.append(TableRow(name, shape.describe(), e.value, a.value if a else None, e.confidence.value,
                             a.confidence.value if a else "-", e.basis,
                             a.basis if a else "no published area", " | ".join(srcs)))
    mem = memory or load_memory()
    interfaces = tuple({"name": i.name, "kind": i.kind, "pJ_per_bit": i.pJ_per_bit, "low": i.low,
                        "high": i.high, "boundary": i.boundary.value, "confidence": i.confidence.value,
                        "source": i.source} for i in mem.entries)
    return TechTable(tech.node_nm, tech.rule.value, tuple(rows), interfaces)
