"""``simlow validate --energy``: the power model against measured power meters (per row,
per device, in-sample and held out; ``simlow.validation.energy``)."""

from __future__ import annotations

from simlow.cli.output import emit, print_reasons, print_table


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def _abs(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _meter(r) -> str:
    """What the row's meter read: one board's, or the sum over a tensor-parallel group's boards."""
    return r.meter if r.devices == 1 else f"{r.meter}, sum of {r.devices}"


def run_energy(args) -> int:
    from simlow.sim import power
    from simlow.validation.energy import fit, validate_energy

    k = fit(args.data) if args.fit else power.FITTED
    report = validate_energy(args.data, k)
    if emit(report.to_dict(), args):
        return 0
    if args.rows:
        print_table("energy rows (error = predicted / measured - 1)",
                    ["source", "line", "hw", "model", "scheme", "stack", "batch", "meter", "window", "split",
                     "measured W", "measured J/tok", "predicted W", "predicted J/tok", "error", "e2e J/tok",
                     "e2e error", "e2e speed", "e2e power"],
                    [(r.source, r.line, r.hw, r.model, r.scheme, r.stack, r.batch, _meter(r), r.window, r.split,
                      f"{r.measured_W:.1f}", f"{r.measured_J_per_token:.4g}", f"{r.predicted_W:.1f}",
                      f"{r.predicted_J_per_token:.4g}", _pct(r.error), f"{r.e2e_J_per_token:.4g}",
                      _pct(r.e2e_error), _pct(r.e2e_speed_error), _pct(r.e2e_power_error)) for r in report.rows])
    rows = [(g, v["J_per_token"]["n"], _abs(v["J_per_token"]["median_abs"]), _abs(v["J_per_token"]["p90_abs"]),
             _pct(v["J_per_token"]["median_signed"]), _abs(v["e2e_J_per_token"]["median_abs"]),
             _pct(v["e2e_J_per_token"]["median_signed"]), _pct(v["e2e_speed"]["median_signed"]),
             _pct(v["e2e_power"]["median_signed"])) for g, v in report.summaries.items()]
    print_table("J/token error: at the measured speed (the power model) and end to end (simlow's speed too; "
                "split as 1 + e2e = (1 + power) / (1 + speed))",
                ["group", "n", "median |err|", "p90 |err|", "median", "e2e median |err|", "e2e median",
                 "e2e speed median", "e2e power median"], rows)
    print(f"constants: unit_cycle {k.unit_cycle_pJ:.4g} pJ, onchip {k.onchip_pJ_per_bit:.4g} pJ/bit at 7 nm; "
          f"fitted on {', '.join(k.fitted_on)} ({k.source})")
    print(report.prompt_assumption)
    print_reasons("skipped rows", report.skipped)
    return 0
