"""The NPU-level cost table: SRAM area by node, leakage, DRAM interfaces and their PHY.

Loaded strictly from ``simlow/data/cost/npu.yaml`` (every number with a source and a
confidence tag) into frozen objects. What the design does with them is ``simlow.npu.design``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from simlow.cost.primitives import DATA_DIR
from simlow.cost.scaling import BASE_NODE_NM, MIN_NODE_NM, check_node
from simlow.cost.sourced import Sourced, parse_confidence, parse_sourced
from simlow.cost.strictyaml import Ctx, integer, mapping, number, read_yaml, text
from simlow.errors import unknown_name

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
    array_efficiency: Sourced
    bank_bytes: Sourced
    bank_width_bits: Sourced
    logic_leak_W_per_mm2: Sourced
    sram_leak_W_per_mm2: Sourced
    leak_node_rule: Sourced
    overhead_fraction: Sourced
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


@lru_cache(maxsize=4)
def load_npu_data(path: Path = NPU_FILE) -> NpuData:
    ctx = Ctx(str(path))
    top = mapping(read_yaml(Path(path)), ctx, ("version", "sram", "leakage", "design", "phy", "dram", "capacities_GB"))
    if top["version"] != 1:
        raise ctx.at("version").error(f"unsupported schema version {top['version']!r} (valid: 1)")
    sc = ctx.at("sram")
    s = mapping(top["sram"], sc, ("bitcell_um2", "array_efficiency", "bank_bytes", "bank_width_bits"))
    cells = _cells(s["bitcell_um2"], sc.at("bitcell_um2"))
    lc, dc, pc = ctx.at("leakage"), ctx.at("design"), ctx.at("phy")
    leak = mapping(top["leakage"], lc, ("logic_W_per_mm2", "sram_W_per_mm2", "node_rule"))
    des = mapping(top["design"], dc, ("overhead_fraction", "guard_bits", "vector_stage_register_bits",
                                      "dram_latency_s"))
    phy = mapping(top["phy"], pc, ("area_mm2_per_16bit", "pJ_per_bit"))
    pj = mapping(phy["pJ_per_bit"], pc.at("pJ_per_bit"), ("value", "source", "confidence"), ("low", "high"))
    pj_src = parse_sourced({k: pj[k] for k in ("value", "source", "confidence")}, pc.at("pJ_per_bit"))
    low = number(pj.get("low", pj_src.value), pc.at("pJ_per_bit").at("low"), positive=True)
    high = number(pj.get("high", pj_src.value), pc.at("pJ_per_bit").at("high"), positive=True)
    if not low <= pj_src.value <= high:
        raise pc.at("pJ_per_bit").error(f"expected low <= value <= high, got {low} <= {pj_src.value} <= {high}")
    caps = mapping(top["capacities_GB"], ctx.at("capacities_GB"), ("value", "source", "confidence"))
    cap_list = caps["value"] if isinstance(caps["value"], list) else []
    sizes = tuple(number(c, ctx.at("capacities_GB").at(i), positive=True) for i, c in enumerate(cap_list))
    if not sizes or sorted(sizes) != list(sizes):
        raise ctx.at("capacities_GB").error("expected an ascending, non-empty list of sizes in GB")
    return NpuData(
        str(path), cells,
        *(parse_sourced(s[k], sc.at(k)) for k in ("array_efficiency", "bank_bytes", "bank_width_bits")),
        *(parse_sourced(leak[k], lc.at(k)) for k in ("logic_W_per_mm2", "sram_W_per_mm2", "node_rule")),
        *(parse_sourced(des[k], dc.at(k)) for k in ("overhead_fraction", "guard_bits",
                                                     "vector_stage_register_bits", "dram_latency_s")),
        parse_sourced(phy["area_mm2_per_16bit"], pc.at("area_mm2_per_16bit")), pj_src, (low, high),
        _drams(top["dram"], ctx.at("dram")),
        sizes,
        text(caps["source"], ctx.at("capacities_GB").at("source")))


def _cells(raw: Any, ctx: Ctx) -> tuple[tuple[int, Sourced], ...]:
    if not isinstance(raw, dict) or BASE_NODE_NM not in raw or MIN_NODE_NM not in raw:
        raise ctx.error(f"expected a mapping from node (nm) to cell area, including {BASE_NODE_NM} and {MIN_NODE_NM}")
    rows = []
    for k, v in raw.items():
        if isinstance(k, bool) or not isinstance(k, int):
            raise ctx.error(f"node keys must be integers (nm), got {k!r}")
        rows.append((k, parse_sourced(v, ctx.at(k))))
    rows.sort(key=lambda r: -r[0])
    for (n_hi, hi), (n_lo, lo) in zip(rows, rows[1:]):
        if lo.value > hi.value:
            raise ctx.error(f"bit cell grows from {n_hi} nm ({hi.value}) to {n_lo} nm ({lo.value})")
    return tuple(rows)


def _drams(raw: Any, ctx: Ctx) -> tuple[DramType, ...]:
    if not isinstance(raw, dict) or not raw:
        raise ctx.error("expected a non-empty mapping of DRAM type names")
    out = []
    for name, item in raw.items():
        c = ctx.at(str(name))
        m = mapping(item, c, ("memory_row", "max_MTps", "channel_bits", "confidence", "source"))
        parse_confidence(m["confidence"], c.at("confidence"))
        out.append(DramType(str(name), text(m["memory_row"], c.at("memory_row")),
                            integer(m["max_MTps"], c.at("max_MTps"), minimum=1),
                            integer(m["channel_bits"], c.at("channel_bits"), minimum=1),
                            text(m["source"], c.at("source"))))
    return tuple(out)
