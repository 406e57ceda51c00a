"""``simlow npu``: size an edge NPU for a decode target, or show one design.

    simlow npu size --model llama-3-8b --scheme pot-w4 --target-decode-tok-s 20 --node 28nm
                    --dram lpddr5x-8533x64 [--power-budget 5W] [--unit pot4] [--clock-derate 1]
                    [--batch 1 --prompt 512 --gen 128] [--json]
    simlow npu show edge-npu-28nm [--yaml | --json]
    simlow npu show --unit pot4 --array 2x32x32 --sram 512KiB --dram lpddr5x-8533x128
                    --node 28nm --capacity 16GB [--lanes 64] [--clock-derate 1] [--yaml | --json]

A DRAM name without a width (``lpddr5x-8533``) lets ``size`` sweep the bus width too.
"""

from __future__ import annotations

import re
import sys

from simlow.cli.output import add_json_flag, print_json, print_table
from simlow.errors import SimlowError
from simlow.quantities import Dim, fmt_bytes, parse


def register(sub) -> None:
    p = sub.add_parser("npu", help="size an edge NPU for a decode target, or show a design and its spec")
    verbs = p.add_subparsers(dest="npu_verb", required=True, metavar="VERB")
    s = verbs.add_parser("size", help="the smallest design meeting a decode target")
    s.add_argument("--model", required=True)
    s.add_argument("--scheme", required=True)
    s.add_argument("--target-decode-tok-s", type=float, required=True)
    s.add_argument("--node", default="28nm")
    s.add_argument("--dram", required=True, help="e.g. lpddr5x-8533x64, or lpddr5x-8533 to sweep the width")
    s.add_argument("--power-budget", default=None, help="decode power budget, e.g. 5W")
    s.add_argument("--unit", default=None, help="datapath unit (default: from the scheme's compute format)")
    s.add_argument("--clock-derate", type=float, default=1.0)
    s.add_argument("--clock", default=None, help="override the modelled design clock, e.g. 800MHz")
    s.add_argument("--batch", type=int, default=1)
    s.add_argument("--prompt", type=int, default=512)
    s.add_argument("--gen", type=int, default=128)
    add_json_flag(s)
    s.set_defaults(func=run_size)
    w = verbs.add_parser("show", help="one design: area, clock, peaks, power, and its hardware spec")
    w.add_argument("name", nargs="?", default=None, help="a shipped design (edge-npu-28nm), or give the flags")
    w.add_argument("--unit", default="pot4")
    w.add_argument("--array", default="1x64x64", help="COUNTxROWSxCOLS with ROWS = COLS (default 1x64x64)")
    w.add_argument("--sram", default="2MiB")
    w.add_argument("--dram", default="lpddr5x-8533x64",
                   help="DRAM interface, or 'none' for the on-chip design only (no PHY area, no DRAM power)")
    w.add_argument("--node", default="28nm")
    w.add_argument("--capacity", default="16GB")
    w.add_argument("--lanes", type=int, default=64)
    w.add_argument("--clock-derate", type=float, default=1.0)
    w.add_argument("--clock", default=None, help="override the modelled design clock, e.g. 800MHz")
    w.add_argument("--yaml", action="store_true", help="print the generated hwspec YAML")
    add_json_flag(w)
    w.set_defaults(func=run_show)


def run_size(args) -> int:
    from simlow.npu.sizing import size

    budget = parse(args.power_budget, Dim.POWER) if args.power_budget else None
    r = size(args.model, args.scheme, args.target_decode_tok_s, args.node, args.dram, unit=args.unit,
             power_budget_W=budget, batch=args.batch, prompt=args.prompt, gen=args.gen,
             clock_derate=args.clock_derate, clock_Hz=_clock(args))
    if args.json:
        print_json(r.to_dict())
        return 0 if r.design else 1
    print(f"{r.points} design points, {r.feasible} feasible; {r.note}")
    if r.design is None:
        return 1
    _print_cost(r.cost)
    print(f"decode {r.decode_tok_s:.2f} tok/s ({r.bound}-bound), {r.energy_j_per_token:.3f} J/token, "
          f"{r.decode_power_W:.2f} W during decode (structural energy model, simlow.npu.sweep)")
    print_table("next-smaller designs", ["dimension", "value", "fails on", "decode tok/s", "power W"],
                [[n.dimension, n.value, n.reason, f"{n.decode_tok_s:.2f}", f"{n.decode_power_W:.2f}"]
                 for n in r.neighbours])
    return 0


def _design(args):
    from simlow.npu.dram import parse_dram
    from simlow.npu.design import NpuDesign
    from simlow.npu.shipped import SHIPPED
    from simlow.cost.scaling import parse_node

    if args.name is not None:
        if args.name not in SHIPPED:
            raise SimlowError(f"no shipped NPU design {args.name!r} (shipped: {', '.join(SHIPPED)})")
        return SHIPPED[args.name] if args.clock is None else SHIPPED[args.name].with_(clock_Hz=_clock(args))
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)", args.array)
    if not m or m[2] != m[3]:
        raise SimlowError(f"bad --array {args.array!r} (expected COUNTxROWSxCOLS with ROWS = COLS, e.g. 2x32x32)")
    sram = parse(args.sram, Dim.BYTES)
    dram = "lpddr5x-8533x64" if _no_dram(args) else args.dram   # priced, then left out of the on-chip report
    return NpuDesign(args.unit, int(m[2]), int(m[1]), int(sram), parse_dram(dram), parse_node(args.node),
                     parse(args.capacity, Dim.BYTES) / 1e9, args.lanes, args.clock_derate, clock_Hz=_clock(args))


def _clock(args) -> float | None:
    """``--clock 800MHz`` in Hz, or None (the modelled design clock)."""
    if args.clock is None:
        return None
    hz = parse(args.clock, Dim.FREQUENCY)
    if not hz > 0:
        raise SimlowError(f"bad --clock {args.clock!r} (expected a positive frequency, e.g. 800MHz or 1.2GHz)")
    return float(hz)


def _no_dram(args) -> bool:
    return getattr(args, "dram", "") == "none"


def _on_chip(c):
    """``c`` with the DRAM PHY area and the DRAM power left out (``--dram none``); the SRAM power part is
    the SRAM absorbing the DRAM stream (simlow.npu.design), so it goes too."""
    from dataclasses import replace

    area = {**c.area_mm2, "dram_phy": 0.0, "total": c.area_mm2["on_chip"]}
    parts = {**c.tdp_parts_W, "dram": 0.0, "sram": 0.0}
    return replace(c, area_mm2=area, tdp_parts_W=parts, tdp_W=sum(parts.values()))


def run_show(args) -> int:
    from simlow.npu.design import ASSUMPTIONS, evaluate
    from simlow.npu.spec import spec_document, to_yaml

    d = _design(args)
    c = evaluate(d)
    if _no_dram(args):
        if args.yaml or args.name is not None:
            raise SimlowError("--dram none shows an on-chip design from flags; a hardware spec (--yaml) or a shipped "
                              "design needs a DRAM interface (e.g. --dram lpddr5x-8533x64)")
        c = _on_chip(c)
    if args.yaml:
        sys.stdout.write(to_yaml(d, c))
        return 0
    if args.json:
        print_json({"spec": None if _no_dram(args) else spec_document(d, c), "area_mm2": c.area_mm2,
                    "tdp_parts_W": c.tdp_parts_W, "clock_Hz": c.clock_Hz, "fmax_Hz": c.fmax_Hz,
                    "clock_model": c.clock_model.to_dict(), "peak_ops": c.peak_ops,
                    "power_full_activity_W": c.tdp_W, "dram": "none" if _no_dram(args) else d.dram.name,
                    "assumptions": list(ASSUMPTIONS)})
        return 0
    _print_cost(c, on_chip=_no_dram(args))
    print("assumptions:")
    for a in ASSUMPTIONS:
        print(f"  - {a}")
    return 0


def _print_cost(c, on_chip: bool = False) -> None:
    d = c.design
    dram = "no DRAM (on-chip only)" if on_chip else f"{d.dram.name}, {fmt_bytes(d.capacity_GB * 1e9)} DRAM"
    label = d.label.replace(f"-{d.dram.name}", "") if on_chip else d.label
    print(f"{label}: {d.macs} {d.unit} units ({d.arrays} x {d.array_side}x{d.array_side}), {d.vector_lanes} "
          f"vector lanes ({c.vector_stages} stages), {d.sram_bytes // 1024} KiB SRAM, "
          f"{dram}, {d.node_nm} nm, clock {c.clock_Hz / 1e9:.3f} GHz "
          f"({'given' if d.clock_Hz is not None else c.clock_model.bound + '-bound'}; modelled design clock "
          f"{c.clock_model.clock_Hz / 1e9:.3f} GHz, unit logic fmax {c.fmax_Hz / 1e9:.3f} GHz)")
    print_table("area (mm2)", list(c.area_mm2), [[f"{v:.3f}" for v in c.area_mm2.values()]])
    print_table("peak", ["format", "ops/s", "pJ/op"],
                [[f, f"{v:.4g}", f"{c.pJ_per_op[f]:.4g}"] for f, v in sorted(c.peak_ops.items())])
    print_table("power (W)", list(c.tdp_parts_W) + ["TDP"],
                [[f"{v:.3g}" for v in c.tdp_parts_W.values()] + [f"{c.tdp_W:.3g}"]])
