"""``simlow cost``: the priced technology table and the PoT-vs-INT MAC comparison.

    simlow cost table --node 28nm [--rule stillmaker|jouppi7|both] [--json | --csv]
    simlow cost compare-macs --node 28nm [--rule ...] [--act-bits 8] [--guard-bits 8]
                             [--acc-bits N] [--int-style fused|unfused|pipelined] [--json]
    simlow cost validate [--file silicon_published.csv] [--json]
"""

from __future__ import annotations

import sys

from simlow.cli.output import add_json_flag, print_json, print_table
from simlow.cost.maccompare import IntStyle, compare_macs
from simlow.cost.pricing import Tech, rows_to_csv
from simlow.cost.scaling import ScalingRule, parse_node, scaling_rule
from simlow.cost.techtable import technology_table


def register(sub) -> None:
    p = sub.add_parser("cost", help="energy, area and delay cost model (tables, MAC comparison)")
    verbs = p.add_subparsers(dest="cost_verb", required=True, metavar="VERB")

    t = verbs.add_parser("table", help="the technology table priced at a node")
    _node_rule(t, allow_both=True)
    add_json_flag(t)
    t.add_argument("--csv", action="store_true", help="CSV text (one row per primitive and shape)")
    t.set_defaults(func=run_table)

    c = verbs.add_parser("compare-macs", help="PoT shift-add MAC arrays against INT4/INT8 MAC arrays")
    _node_rule(c, allow_both=False)
    c.add_argument("--act-bits", type=int, default=8, help="activation bits of every design (default 8)")
    c.add_argument("--guard-bits", type=int, default=8, help="accumulator bits above the product (default 8)")
    c.add_argument("--acc-bits", type=int, default=None, help="fix the accumulator width for all designs")
    c.add_argument("--int-style", default="fused", choices=[s.value for s in IntStyle],
                   help="how the INT baselines are built (default fused)")
    c.add_argument("--array-macs", type=int, default=4096, help="INT8 units setting the throughput (default 4096)")
    add_json_flag(c)
    c.set_defaults(func=run_compare)

    v = verbs.add_parser("validate", help="predicted vs published silicon (workloads/measured/silicon_published.csv)")
    v.add_argument("--file", default=None, help="the published-silicon CSV (default: the shipped table)")
    add_json_flag(v)
    v.set_defaults(func=run_validate)


def _node_rule(p, allow_both: bool) -> None:
    p.add_argument("--node", default="28nm", help="technology node, 3-90 nm (default 28nm)")
    choices = [r.value for r in ScalingRule] + (["both"] if allow_both else [])
    p.add_argument("--rule", default="stillmaker", choices=choices,
                   help="energy scaling rule (Stillmaker & Baas fits, or TPUv4i 7 nm ratios)")


def run_table(args) -> int:
    node = parse_node(args.node)
    rules = list(ScalingRule) if args.rule == "both" else [scaling_rule(args.rule)]
    tables = [technology_table(Tech(node, r)) for r in rules]
    if args.json:
        print_json(tables[0].to_dict() if len(tables) == 1 else [t.to_dict() for t in tables])
        return 0
    if args.csv:
        sys.stdout.write(rows_to_csv([row for t in tables for row in t.csv_rows()]))
        return 0
    cols = ["primitive", "shape"] + [f"pJ ({r.value})" for r in rules] + ["um2", "conf E/A"]
    rows = []
    for i, row in enumerate(tables[0].rows):
        energies = [f"{t.rows[i].energy_pJ:.4g}" for t in tables]
        area = "-" if row.area_um2 is None else f"{row.area_um2:.4g}"
        rows.append([row.primitive, row.shape, *energies, area,
                     f"{row.energy_confidence}/{row.area_confidence}"])
    print_table(f"simlow cost table at {node} nm (--json or --csv for basis and sources)", cols, rows)
    mem = [(i["name"], i["kind"], i["pJ_per_bit"], f"{i['low']}-{i['high']}", i["boundary"], i["confidence"])
           for i in tables[0].interfaces]
    print_table("interface energy (pJ/bit, not node-scaled)", ["name", "kind", "pJ/bit", "range", "boundary", "conf"], mem)
    return 0


def run_compare(args) -> int:
    tech = Tech(parse_node(args.node), scaling_rule(args.rule))
    res = compare_macs(tech, act_bits=args.act_bits, guard_bits=args.guard_bits, acc_bits=args.acc_bits,
                       int_style=IntStyle(args.int_style), array_macs=args.array_macs)
    if args.json:
        print_json(res.to_dict())
        return 0
    print_table(f"MAC units at {res.node_nm} nm (INT baselines: {res.int_style})",
                ["design", "acc bits", "area um2", "pJ/MAC", "path FO4", "fmax GHz", "units @ equal tput", "array mm2"],
                [[r.name, r.acc_bits, f"{r.area_um2:.1f}", f"{r.energy_pJ_per_mac:.4f}", f"{r.path_fo4:.1f}",
                  f"{r.fmax_GHz:.2f}", r.units_for_throughput, f"{r.array_area_mm2:.3f}"] for r in res.rows])
    print_table(f"claim: {res.claim}",
                ["design", "vs", "area (same clock)", "clock", "area (each at own fmax)", "energy/MAC",
                 "area <= 1/3", "clock >= 2x"],
                [[r.design, r.baseline, f"{r.area_ratio_same_clock:.2f}", f"{r.clock_ratio:.2f}",
                  f"{r.area_ratio_equal_throughput_own_clock:.2f}", f"{r.energy_ratio:.2f}",
                  "yes" if r.claim_area_met_same_clock else "no", "yes" if r.claim_clock_met else "no"] for r in res.ratios])
    print("assumptions:")
    for a in res.assumptions:
        print(f"  - {a}")
    return 0


def run_validate(args) -> int:
    from pathlib import Path

    from simlow.validation.silicon import SILICON_FILE, validate_silicon

    rep = validate_silicon(Path(args.file) if args.file else SILICON_FILE)
    if args.json:
        print_json(rep.to_dict())
        return 0
    print_table(f"predicted vs published ({rep.file})",
                ["chip", "figure", "kind", "role", "published", "predicted", "unit", "error"],
                [[c.chip[:38], c.figure[:44], c.kind.value, c.role.value, f"{c.published:.4g}", f"{c.predicted:.4g}",
                  c.unit, (("under" if c.predicted <= c.published else "OVER") + " bound") if c.role.value == "bound"
                  else f"{c.error:+.0%}"] for c in rep.checks])
    print_table("rows not predicted", ["chip", "figure", "reason"],
                [[u.chip[:38], u.figure[:44], u.reason] for u in rep.unpredicted])
    print("fitted:")
    for f in rep.fitted:
        print(f"  - {f}")
    s = rep.summary()

    def pct(x):
        return "n/a" if x is None else f"{x:.0%}"
    print(f"held out: median |chip area error| {pct(s['median_abs_chip_area_error'])} over {s['chip_area_rows']} "
          f"row(s) (target <= 25%); median |clock error| {pct(s['median_abs_clock_error'])} over {s['clock_rows']} "
          f"row(s), {s['clock_within_30pct']} within 30%; median |unit area error| "
          f"{pct(s['median_abs_unit_area_error'])} over {s['unit_area_rows']} row(s); median |energy error| "
          f"{pct(s['median_abs_energy_error'])}")
    return 0
