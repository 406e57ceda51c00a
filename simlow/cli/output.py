"""Shared output helpers for the CLI: JSON for machines, rich tables for people.

Tables never cut a name or a number. On a terminal a cell too wide for the screen folds
onto the next line (``overflow="fold"``); when stdout is not a terminal (a pipe, a file, a
test capturing it) the table is laid out at its natural width, however wide, so every
name ``--model`` or ``--hw`` takes is printed whole.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from rich.console import Console
from rich.table import Table

# Wide enough for any table simlow prints; rich then sizes the table to its content.
_PIPE_WIDTH = 100_000


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def console() -> Console:
    """A console on the current stdout: the terminal's width, or unlimited when piped."""
    out = Console(file=sys.stdout)
    if out.is_terminal:
        return out
    return Console(file=sys.stdout, width=_PIPE_WIDTH, no_color=True, highlight=False)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    out = console()
    # Piped, the title starts the line (rich versions differ in how they centre it there).
    table = Table(title=title, title_justify="center" if out.is_terminal else "left")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    out.print(table, crop=False, soft_wrap=not out.is_terminal)


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")


def print_reasons(title: str, rows) -> None:
    """A table of how many ``(source, line, reason)`` rows were left out for each reason."""
    reasons = Counter(why for _, _, why in rows)
    print_table(f"{title} ({len(rows)})", ["rows", "reason"],
                sorted(((n, why) for why, n in reasons.items()), reverse=True))


def emit(d: dict, args) -> bool:
    """Write report ``d`` to ``--out`` if given and print it as JSON under ``--json``;
    True when it was printed (the caller prints no table then)."""
    if args.out:
        Path(args.out).write_text(json.dumps(d, indent=2))
    if args.json:
        print_json(d)
    return bool(args.json)
