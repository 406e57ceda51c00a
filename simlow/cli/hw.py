"""``simlow hw list`` and ``simlow hw show NAME``."""

from __future__ import annotations

from simlow.cli.output import add_json_flag, print_json, print_table
from simlow.specs import load_hw, names
from simlow.specs.hardware import HardwareSpec
from simlow.quantities import fmt_bytes


def register(sub) -> None:
    p = sub.add_parser("hw", help="list or show hardware specs")
    verbs = p.add_subparsers(dest="hw_command", required=True, metavar="list|show")
    ls = verbs.add_parser("list", help="every shipped device")
    add_json_flag(ls)
    ls.set_defaults(func=run_list)
    show = verbs.add_parser("show", help="one device with every number and its source")
    show.add_argument("name", help="device name from hwspecs/ or a YAML path")
    add_json_flag(show)
    show.set_defaults(func=run_show)


def summary(hw: HardwareSpec) -> dict:
    mem = hw.main_memory
    eng = hw.primary
    return {"name": hw.name, "title": hw.title, "kind": hw.kind.value,
            "memory_GiB": round(mem.capacity_bytes / 2**30, 2), "memory_type": mem.type,
            "bandwidth_GBps": round(mem.bandwidth_Bps / 1e9, 1),
            "engines": [e.name for e in hw.engines],
            "peak_TOPS": {f: round(v / 1e12, 2) for f, v in eng.peak_ops.items()},
            "tdp_W": hw.power.tdp_w}


def detail(hw: HardwareSpec) -> dict:
    return {
        **summary(hw),
        "node_nm": None if hw.node_m is None else round(hw.node_m * 1e9, 1),
        "memories": [{"name": m.name, "type": m.type, "capacity_bytes": m.capacity_bytes,
                      "bandwidth_Bps": m.bandwidth_Bps, "usable_fraction": m.usable_fraction,
                      "shared_by": list(m.shared_by),
                      "capacity_options": list(m.capacity_options)} for m in hw.memories],
        "engines": [{"name": e.name, "kind": e.kind.value, "memory": e.memory, "clock_hz": e.clock_hz,
                     "units": e.units, "peak_ops": dict(e.peak_ops)} for e in hw.engines],
        "links": [{"name": x.name, "kind": x.kind, "between": list(x.between),
                   "bandwidth_Bps": x.bandwidth_Bps} for x in hw.links],
        "power": {"tdp_w": hw.power.tdp_w, "idle_w": hw.power.idle_w},
        "sources": {k: {"value": s.text, "source": s.source} for k, s in hw.sources.items()},
    }


def run_list(args) -> int:
    specs = [load_hw(n) for n in names("hardware")]
    if args.json:
        print_json([summary(h) for h in specs])
        return 0
    rows = [(h.name, h.title, h.kind.value, f"{fmt_bytes(h.main_memory.capacity_bytes)} {h.main_memory.type}",
             f"{h.main_memory.bandwidth_Bps / 1e9:g} GB/s", ", ".join(e.name for e in h.engines)) for h in specs]
    print_table("hardware (memory in GiB = 2^30 B; bandwidth in GB/s = 10^9 B/s, as vendors state it)",
                ["name", "title", "kind", "memory", "bandwidth", "engines"], rows)
    return 0


def run_show(args) -> int:
    hw = load_hw(args.name)
    d = detail(hw)
    if args.json:
        print_json(d)
        return 0
    print_table(f"{hw.name}: {hw.title}", ["key", "value", "source"],
                [(k, s.text, s.source) for k, s in hw.sources.items()])
    return 0
