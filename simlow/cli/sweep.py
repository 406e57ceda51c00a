"""``simlow sweep SWEEP.yaml``: run a sweep with a progress bar; rows as JSON lines and CSV.

Interrupt it at any time (Ctrl-C): the rows finished so far are in the JSONL file, and the
same command resumes from there. ``--backend ray`` runs the points on the Ray cluster at
``RAY_ADDRESS`` (a local Ray instance when unset).

Exit codes: 0 when at least one recorded point has a result, 1 when every recorded point
was rejected by the model (each row's ``error`` says why), 2 on bad input, 130 when
interrupted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from simlow.cli.output import add_json_flag, print_json
from simlow.sweep import backend, load_sweep, plan, run
from simlow.sweep.store import done_rows, write_csv

EXIT_ALL_REJECTED = 1


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a sweep file: progress bar, JSONL + CSV rows, resumable",
                       epilog="exit codes: 0 some points have results, 1 every point was rejected, "
                              "2 bad input, 130 interrupted")
    p.add_argument("spec", help="sweep YAML (see workloads/sweeps/)")
    p.add_argument("-o", "--out", default=None, help="results JSONL path (default: <sweep name>.jsonl); "
                                                     "the CSV goes beside it")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local process pool (default) or a Ray cluster at $RAY_ADDRESS")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local worker processes (default: CPU count; 1 runs in this process)")
    p.add_argument("--restart", action="store_true", help="discard rows already in the output and start over")
    add_json_flag(p)
    p.set_defaults(func=run_cli)


def run_cli(args) -> int:
    spec = load_sweep(args.spec)
    out = Path(args.out) if args.out else Path(f"{spec.name}.jsonl")
    be = backend(args.backend, workers=args.workers, address=os.environ.get("RAY_ADDRESS"))
    p = plan(spec, out, restart=args.restart)
    console = Console(stderr=True)
    columns = (TextColumn(f"[bold]{spec.name}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    errors = 0
    interrupted = False
    with Progress(*columns, console=console, disable=args.json or not console.is_terminal) as bar:
        task = bar.add_task("points", total=p.total, completed=p.done)
        try:
            for row in run(p, be):
                errors += row["error"] is not None
                bar.advance(task)
        except KeyboardInterrupt:
            interrupted = True
    rows = sorted(done_rows(out, spec.id).values(), key=lambda r: r["index"])
    csv_path = out.with_suffix(".csv")
    write_csv(csv_path, rows, spec.columns)
    summary = {"sweep": spec.name, "id": spec.id, "points": p.total, "recorded": len(rows),
               "resumed_from": p.done, "errors_this_run": errors, "jsonl": str(out), "csv": str(csv_path),
               "complete": len(rows) == p.total,
               "rejected": sum(r["error"] is not None for r in rows)}
    if args.json:
        print_json(summary)
    else:
        state = "complete" if summary["complete"] else "interrupted; run the same command to resume"
        print(f"{spec.name}: {len(rows)} of {p.total} points recorded ({state}); "
              f"{errors} points rejected by the model this run (see the error column)")
        print(f"rows: {out}  table: {csv_path}")
    if interrupted:
        print("interrupted", file=sys.stderr)
        return 130
    if rows and summary["rejected"] == len(rows):
        print(f"{spec.name}: every point was rejected by the model (see the error column of {csv_path})",
              file=sys.stderr)
        return EXIT_ALL_REJECTED
    return 0
