"""The NPU-level cost table: SRAM area by node, leakage, DRAM interfaces and their PHY.

Loaded strictly from ``simlow/data/cost/npu.yaml`` (every number with a source and a
confidence tag) into frozen objects. What the design does with them is ``simlow.npu.design``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlow.cost.primitives import DATA_DIR
from simlow.cost.scaling import BASE_NODE_NM, MIN_NODE_NM, check_node
from simlow.specs.filememo import FileMemo
from simlow.errors import unknown_name
from simlow.specs.sourced import Sourced, read_confidence, read_sourced
from simlow.specs.yamlfile import Reader, check_number, check_version, load_yaml

NPU_FILE = DATA_DIR / "npu.yaml"


@dataclass(frozen=True)
class DramType:
    name: str
    memory_row: str       # row of memory.yaml giving the device energy per bit
    max_MTps: int
    channel_bits: int
    source: str


@dataclass(frozen=True)
class NpuData:
    file: str
    bitcell_um2: tuple[tuple[int, Sourced], ...]   # (node, cell area), descending node
    bank_bytes: Sourced
    bank_width_bits: Sourced
    logic_leak_W_per_mm2: Sourced
    leak_node_rule: Sourced
    logic_area_factor: Sourced
    control_fraction: Sourced
    overhead_fraction: Sourced
    whitespace_fraction: Sourced
    guard_bits: Sourced
    vector_stage_register_bits: Sourced
    dram_latency_s: Sourced
    phy_area_mm2_per_16bit: Sourced
    phy_pJ_per_bit: Sourced
    phy_pJ_range: tuple[float, float]
    dram_types: tuple[DramType, ...]
    capacities_GB: tuple[float, ...]
    capacities_source: str

    def dram(self, name: str) -> DramType:
        for d in self.dram_types:
            if d.name == name:
                return d
        raise unknown_name("DRAM type", name, [d.name for d in self.dram_types])

    def bitcell(self, node_nm: int) -> tuple[float, str]:
        """(bit cell area in um2, how it was obtained) at ``node_nm``: a table row, or linear
        interpolation in the node number between the two rows around it."""
        check_node(node_nm)
        rows = self.bitcell_um2
        for n, s in rows:
            if n == node_nm:
                return s.value, s.source
        for (n_hi, hi), (n_lo, lo) in zip(rows, rows[1:]):
            if n_lo < node_nm < n_hi:
                t = (n_hi - node_nm) / (n_hi - n_lo)
                v = (1 - t) * hi.value + t * lo.value
                return v, f"interpolated linearly in node between {n_hi} nm ({hi.value} um2) and {n_lo} nm ({lo.value} um2)"
        raise AssertionError(node_nm)  # pragma: no cover - rows span 3..45


def _read_npu_data(path: Path) -> NpuData:
    r = Reader(load_yaml(path), str(path))
    check_version(r)
    sram, leak, des, phy = (r.sub(k) for k in ("sram", "leakage", "design", "phy"))
    cells = _cells(sram.sub("bitcell_um2"))
    pj = phy.sub("pJ_per_bit")
    pj_src = Sourced(pj.number("value", positive=True), pj.str("source", nonempty=True), read_confidence(pj))
    low = pj.number("low", default=pj_src.value, positive=True)
    high = pj.number("high", default=pj_src.value, positive=True)
    if not low <= pj_src.value <= high:
        pj.fail(f"expected low <= value <= high, got {low} <= {pj_src.value} <= {high}")
    pj.done()
    caps = r.sub("capacities_GB")
    sizes = tuple(_size(caps, i, c) for i, c in enumerate(caps.list("value")))
    if not sizes or sorted(sizes) != list(sizes):
        caps.fail("expected an ascending, non-empty list of sizes in GB")
    read_confidence(caps)
    data = NpuData(
        str(path), cells,
        *(read_sourced(sram, k) for k in ("bank_bytes", "bank_width_bits")),
        *(read_sourced(leak, k) for k in ("logic_W_per_mm2", "node_rule")),
        *(read_sourced(des, k) for k in ("logic_area_factor", "control_fraction", "overhead_fraction",
                                          "whitespace_fraction", "guard_bits",
                                          "vector_stage_register_bits",
                                          "dram_latency_s")),
        read_sourced(phy, "area_mm2_per_16bit"), pj_src, (low, high),
        _drams(r.sub("dram")), sizes, caps.str("source", nonempty=True))
    for sub in (sram, leak, des, phy, caps, r):
        sub.done()
    return data


# The table (default: the shipped file), memoized by the file's bytes: an edited file is read again.
load_npu_data = FileMemo(_read_npu_data, NPU_FILE)


def _size(caps: Reader, i: int, value: Any) -> float:
    check_number(value, lambda m: caps.fail(f"item {i}: {m}", "value"))
    if not value > 0:
        caps.fail(f"item {i}: expected a number > 0, got {value!r}", "value")
    return float(value)


def _cells(r: Reader) -> tuple[tuple[int, Sourced], ...]:
    if BASE_NODE_NM not in r.data or MIN_NODE_NM not in r.data:
        r.fail(f"expected a mapping from node (nm) to cell area, including {BASE_NODE_NM} and {MIN_NODE_NM}")
    rows = []
    for k in list(r.data):
        if isinstance(k, bool) or not isinstance(k, int):
            r.fail(f"node keys must be integers (nm), got {k!r}")
        rows.append((k, read_sourced(r, k)))
    rows.sort(key=lambda row: -row[0])
    for (n_hi, hi), (n_lo, lo) in zip(rows, rows[1:]):
        if lo.value > hi.value:
            r.fail(f"bit cell grows from {n_hi} nm ({hi.value}) to {n_lo} nm ({lo.value})")
    r.done()
    return tuple(rows)


def _drams(r: Reader) -> tuple[DramType, ...]:
    if not r.data:
        r.fail("expected a non-empty mapping of DRAM type names")
    out = []
    for name in list(r.data):
        c = r.sub(name)
        read_confidence(c)
        out.append(DramType(str(name), c.str("memory_row", nonempty=True), c.int("max_MTps", minimum=1),
                            c.int("channel_bits", minimum=1), c.str("source", nonempty=True)))
        c.done()
    r.done()
    return tuple(out)
