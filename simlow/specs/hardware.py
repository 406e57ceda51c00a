"""Hardware specs: devices as frozen dataclasses, read strictly from ``hwspecs/*.yaml``.

A device is a set of compute **engines** (GPU, NPU, CPU), **memories** (DRAM, host DRAM,
on-chip SRAM) that engines read from, **links** between memories (PCIe, NVLink-C2C), a
power envelope and a process node. Unified-memory SoCs (Apple M-series, Strix Halo, DGX
Spark) list several engines that share one memory (``shared_by``); a discrete GPU lists
its device memory and the host memory behind a PCIe link.

Peak rates are dense (no sparsity), in operations per second where one multiply-accumulate
is two operations, keyed by compute format (``COMPUTE_FORMATS``).

YAML schema (version 1)::

    schema_version: 1
    name: h100-sxm                 # must equal the file stem
    title: NVIDIA H100 SXM5 80GB
    kind: gpu                      # gpu | soc | npu | phone | cpu
    vendor: nvidia                 # optional: nvidia | amd | apple | intel | qualcomm | mediatek | google | arm | raspberry-pi
    source: "..."                  # default source for every number below
    node: 4 nm
    power: {tdp: 700 W, idle: 60 W}
    memories:
      - name: hbm
        type: HBM3
        capacity: 80 GB
        capacity_options: [80 GB]  # optional: other configurations
        bandwidth: 3.35 TB/s
        usable: 0.97               # optional fraction of capacity an app can use
        shared_by: [gpu]
    engines:
      - name: gpu
        kind: gpu
        default_stack: llama.cpp-cuda   # optional: the stack predictions use (default: ideal / ideal-npu / llama.cpp-cpu by kind)
        memory: hbm
        clock: 1.98 GHz
        units: 132                 # SMs / CUs / cores / MAC arrays
        peak: {bf16: 989.4 TFLOP/s, fp8: 1979 TFLOP/s, int8: 1979 TOP/s}
    links:
      - {name: pcie, kind: pcie5-x16, between: [hbm, host], bandwidth: 64 GB/s}

Every number needs a source: inline ``{value: ..., source: ...}`` or a ``source:`` in an
enclosing mapping (see ``simlow.specs.sourced``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from simlow.errors import SimlowError
from simlow.specs.sourced import SourceBook, Sourced
from simlow.specs.yamlfile import Reader, open_spec
from simlow.numerics import COMPUTE_FORMATS
from simlow.quantities import Dim, parse

SCHEMA_VERSION = 1



class DeviceKind(enum.Enum):
    GPU = "gpu"
    SOC = "soc"
    NPU = "npu"
    PHONE = "phone"
    CPU = "cpu"


class EngineKind(enum.Enum):
    GPU = "gpu"
    NPU = "npu"
    CPU = "cpu"


class Vendor(enum.Enum):
    """Who makes the device (``vendor:``; optional, absent for simlow's own NPU designs)."""
    NVIDIA = "nvidia"
    AMD = "amd"
    APPLE = "apple"
    INTEL = "intel"
    QUALCOMM = "qualcomm"
    MEDIATEK = "mediatek"
    GOOGLE = "google"
    ARM = "arm"
    RASPBERRY_PI = "raspberry-pi"


@dataclass(frozen=True)
class Engine:
    name: str
    kind: EngineKind
    memory: str                          # the memory it reads weights from
    peak_ops: Mapping[str, float]        # compute format -> dense ops/s
    clock_hz: float | None = None
    units: int | None = None
    default_stack: str | None = None     # the software stack a prediction on it uses by default

    def peak(self, fmt: str) -> float:
        """Peak ops/s in ``fmt``, or 0.0 where the engine has no such rate."""
        return self.peak_ops.get(fmt, 0.0)


@dataclass(frozen=True)
class Memory:
    name: str
    type: str                            # HBM3, GDDR6X, LPDDR5X, DDR5, SRAM...
    capacity_bytes: float
    bandwidth_Bps: float
    shared_by: tuple[str, ...]
    usable_fraction: float = 1.0
    capacity_options: tuple[float, ...] = ()
    latency_s: float | None = None
    energy_J_per_bit: float | None = None

    @property
    def usable_bytes(self) -> float:
        return self.capacity_bytes * self.usable_fraction


@dataclass(frozen=True)
class Link:
    name: str
    kind: str                            # pcie4-x16, pcie5-x16, nvlink-c2c, ...
    between: tuple[str, str]
    bandwidth_Bps: float                 # per direction
    latency_s: float | None = None
    energy_J_per_bit: float | None = None


@dataclass(frozen=True)
class Power:
    tdp_w: float
    idle_w: float | None = None
    onchip_J_per_bit: float | None = None   # on-chip energy per DRAM bit moved (None: simlow.sim.power's fitted figure)


@dataclass(frozen=True)
class HardwareSpec:
    name: str
    title: str
    kind: DeviceKind
    node_m: float | None
    power: Power
    memories: tuple[Memory, ...]
    engines: tuple[Engine, ...]
    links: tuple[Link, ...] = ()
    sources: Mapping[str, Sourced] = field(default_factory=dict, compare=False)  # key path -> value, source, tag
    origin: str = field(default="", compare=False)
    vendor: Vendor | None = None

    def engine(self, name: str) -> Engine:
        for e in self.engines:
            if e.name == name:
                return e
        raise SimlowError(f"{self.name}: no engine {name!r} (engines: {', '.join(e.name for e in self.engines)})")

    def memory(self, name: str) -> Memory:
        for m in self.memories:
            if m.name == name:
                return m
        raise SimlowError(f"{self.name}: no memory {name!r} (memories: {', '.join(m.name for m in self.memories)})")

    @property
    def primary(self) -> Engine:
        """The engine that runs the model by default (the first one listed)."""
        return self.engines[0]

    @property
    def main_memory(self) -> Memory:
        """The memory the primary engine reads its weights from."""
        return self.memory(self.primary.memory)

    def host_link(self) -> Link | None:
        """The link from main memory to another memory (for offload), if any."""
        for link in self.links:
            if self.main_memory.name in link.between:
                return link
        return None

    def with_capacity(self, capacity: str | float) -> "HardwareSpec":
        """The same device with its main memory at another configured capacity.

        A configuration is named by its size in bytes or by the vendor's label: "64 GB" on
        an Apple part selects the 64 GiB configuration that Apple sells as 64 GB."""
        value = parse(capacity, Dim.BYTES) if isinstance(capacity, str) else float(capacity)
        mem = self.main_memory
        allowed = mem.capacity_options or (mem.capacity_bytes,)
        for option in allowed:
            if abs(value - option) < 1 or abs(value - option / 2**30 * 1e9) < 1:
                mems = tuple(replace(m, capacity_bytes=option) if m.name == mem.name else m
                             for m in self.memories)
                return replace(self, memories=mems)
        shown = ", ".join(f"{a / 2**30:g} GiB" for a in allowed)
        raise SimlowError(f"{self.name}: memory {capacity} is not a configuration of this "
                          f"device (configurations: {shown})")


# -- reading -------------------------------------------------------------------------------

def read_hardware(path: Path | str) -> HardwareSpec:
    """Read and validate one hardware YAML file."""
    r, name = open_spec(path, SCHEMA_VERSION)
    book = SourceBook()
    src = book.section_source(r, None)
    kinds = tuple(k.value for k in DeviceKind)
    kind = DeviceKind(r.str("kind", choices=kinds))
    spec = HardwareSpec(
        name=name,
        title=r.str("title"),
        kind=kind,
        vendor=Vendor(r.str("vendor", choices=tuple(v.value for v in Vendor))) if r.has("vendor") else None,
        node_m=book.quantity(r, "node", Dim.LENGTH, src, positive=True),
        power=_power(r.sub("power"), book, src),
        memories=tuple(_memory(m, book, src) for m in r.readers("memories")),
        engines=tuple(_engine(e, book, src) for e in r.readers("engines")),
        links=tuple(_link(x, book, src) for x in r.readers("links", required=False)),
        sources=MappingProxyType(dict(book.entries)),
        origin=str(path),
    )
    r.done()
    _check_references(spec, r)
    return spec


def _power(r: Reader, book: SourceBook, src: str | None) -> Power:
    src = book.section_source(r, src)
    p = Power(tdp_w=book.quantity(r, "tdp", Dim.POWER, src, positive=True, required=True),
              idle_w=book.quantity(r, "idle", Dim.POWER, src, positive=True),
              onchip_J_per_bit=book.quantity(r, "onchip_energy_per_bit", Dim.ENERGY_PER_BIT, src, positive=True))
    if p.idle_w is not None and p.idle_w > p.tdp_w:
        r.fail(f"idle {p.idle_w:g} W is above tdp {p.tdp_w:g} W: a device idles below its power limit", "idle")
    r.done()
    return p


def _memory(r: Reader, book: SourceBook, src: str | None) -> Memory:
    src = book.section_source(r, src)
    capacity = book.quantity(r, "capacity", Dim.BYTES, src, positive=True, required=True)
    options = tuple(parse_item(r, "capacity_options", x, Dim.BYTES)
                    for x in r.list("capacity_options", required=False))
    if any(o <= 0 for o in options):
        r.fail("every configuration must be greater than zero", "capacity_options")
    if options and not any(abs(capacity - o) < 1 for o in options):
        r.fail("capacity must be one of capacity_options", "capacity")
    m = Memory(
        name=r.str("name"),
        type=r.str("type"),
        capacity_bytes=capacity,
        bandwidth_Bps=book.quantity(r, "bandwidth", Dim.BANDWIDTH, src, positive=True, required=True),
        shared_by=r.str_list("shared_by"),
        usable_fraction=book.number(r, "usable", src, default=1.0, lo=0.05, hi=1.0),
        capacity_options=options,
        latency_s=book.quantity(r, "latency", Dim.TIME, src, positive=True),
        energy_J_per_bit=book.quantity(r, "energy_per_bit", Dim.ENERGY_PER_BIT, src, positive=True),
    )
    r.done()
    return m


def _engine(r: Reader, book: SourceBook, src: str | None) -> Engine:
    src = book.section_source(r, src)
    name = r.str("name")
    kind = EngineKind(r.str("kind", choices=tuple(k.value for k in EngineKind)))
    memory = r.str("memory")
    default_stack = r.str("default_stack") if r.has("default_stack") else None
    clock = book.quantity(r, "clock", Dim.FREQUENCY, src, positive=True)
    units = r.int("units", minimum=1) if r.has("units") else None
    peak_r = r.sub("peak")
    peak_src = book.section_source(peak_r, src)
    peak = {}
    for fmt in peak_r.keys():
        if fmt == "source":
            continue
        if fmt not in COMPUTE_FORMATS:
            peak_r.fail(f"unknown compute format (valid: {', '.join(COMPUTE_FORMATS)})", fmt)
        peak[fmt] = book.quantity(peak_r, fmt, Dim.OPS_RATE, peak_src, positive=True)
    peak_r.done()
    if not peak:
        r.fail("needs at least one peak rate", "peak")
    r.done()
    return Engine(name, kind, memory, MappingProxyType(peak), clock, units, default_stack)


def _link(r: Reader, book: SourceBook, src: str | None) -> Link:
    src = book.section_source(r, src)
    between = r.str_list("between")
    if len(between) != 2:
        r.fail("must name exactly two memories", "between")
    link = Link(
        name=r.str("name"),
        kind=r.str("kind"),
        between=(between[0], between[1]),
        bandwidth_Bps=book.quantity(r, "bandwidth", Dim.BANDWIDTH, src, positive=True, required=True),
        latency_s=book.quantity(r, "latency", Dim.TIME, src, positive=True),
        energy_J_per_bit=book.quantity(r, "energy_per_bit", Dim.ENERGY_PER_BIT, src, positive=True),
    )
    r.done()
    return link


def parse_item(r: Reader, key: str, value, dim: Dim) -> float:
    try:
        return parse(value, dim)
    except SimlowError as err:
        raise SimlowError(f"{r.where(key)}: {err}") from None


def _check_references(spec: HardwareSpec, r: Reader) -> None:
    mem_names = {m.name for m in spec.memories}
    eng_names = {e.name for e in spec.engines}
    for dup_kind, names in (("memory", [m.name for m in spec.memories]), ("engine", [e.name for e in spec.engines])):
        if len(set(names)) != len(names):
            r.fail(f"duplicate {dup_kind} name in {names}")
    for e in spec.engines:
        if e.memory not in mem_names:
            r.fail(f"engine {e.name!r} reads from unknown memory {e.memory!r} (memories: {', '.join(sorted(mem_names))})", "engines")
    for m in spec.memories:
        unknown = [s for s in m.shared_by if s not in eng_names and s != "host"]
        if unknown:
            r.fail(f"memory {m.name!r} shared_by unknown engine {unknown[0]!r} (engines: {', '.join(sorted(eng_names))}, or host)", "memories")
    for link in spec.links:
        for end in link.between:
            if end not in mem_names:
                r.fail(f"link {link.name!r} joins unknown memory {end!r}", "links")
