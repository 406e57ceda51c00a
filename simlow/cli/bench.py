"""``simlow bench``: the project's own speed figures, as ratios against a baseline."""

from __future__ import annotations

from simlow import bench
from simlow.cli.output import add_json_flag, print_json, print_table


def register(sub) -> None:
    p = sub.add_parser("bench", help="run the speed benchmarks (ratios against baselines)")
    p.add_argument("areas", nargs="*", help=f"areas to run (default all: {', '.join(bench.MODULES)})")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    results = bench.run_all(tuple(args.areas))
    if args.json:
        print_json([r.to_dict() for r in results])
        return 0
    rows = [
        (r.name, f"{r.value:.4g} {r.unit}", r.target, {True: "yes", False: "NO", None: "-"}[r.met], r.detail)
        for r in results
    ]
    print_table("simlow bench", ["benchmark", "measured", "target", "met", "detail"], rows)
    return 0
