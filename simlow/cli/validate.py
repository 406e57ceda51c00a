"""``simlow validate``: predictions against measured throughput (per row, source, stack
build era, device)."""

from __future__ import annotations

from simlow.cli.output import add_json_flag, emit, print_reasons, print_table


def register(sub) -> None:
    p = sub.add_parser("validate", help="predict every measured row and report the error")
    p.add_argument("--data", default=None, help="directory of measured CSVs (default: the shipped workloads/measured/)")
    p.add_argument("--out", default=None, help="also write the JSON report to this file")
    p.add_argument("--rows", action="store_true", help="print every row, not only the summaries")
    p.add_argument("--markdown", action="store_true", help="print only a compact per-device markdown table (README)")
    p.add_argument("--energy", action="store_true",
                   help="the power model against measured power meters instead (simlow.validation.energy)")
    p.add_argument("--serving", action="store_true",
                   help="serving runs under load against simlow serving instead (simlow.serving.validate)")
    p.add_argument("--fit", action="store_true", help="with --energy: refit the power model's constants on the "
                                                     "in-sample devices and score with them")
    add_json_flag(p)
    p.set_defaults(func=run)


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def run(args) -> int:
    if args.energy:
        from simlow.cli.validate_energy import run_energy

        return run_energy(args)
    if args.serving:
        from simlow.cli.serving import run_validate

        return run_validate(args)
    from simlow.validation.validate import validate

    report = validate(args.data)
    if emit(report.to_dict(), args):
        return 0
    if args.markdown:
        from simlow.validation.validate import to_markdown

        print(to_markdown(report), end="")
        return 0
    if args.rows:
        print_table("rows", ["source", "line", "hw", "model", "scheme", "mapping", "stack@era", "split", "test",
                             "measured", "predicted", "error"],
                    [(r.source, r.line, r.hw, r.model, r.scheme, r.mapping, r.era, r.split, r.test,
                      f"{r.measured:,.1f}", f"{r.predicted:,.1f}", _pct(r.error)) for r in report.rows])
    rows = []
    for key, by_metric in report.summaries.items():
        for metric, s in by_metric.items():
            if s.n:
                rows.append((key, metric, s.n, _pct(s.median_abs), _pct(s.p90_abs), _pct(s.median_signed)))
    print_table("prediction error (|predicted / measured - 1|)", ["group", "metric", "n", "median", "p90",
                                                                  "median signed"], rows)
    print_reasons("unmapped rows", report.unmapped)
    return 0
