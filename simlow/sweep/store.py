"""Where a sweep's rows live: a JSON-lines file written as points finish, and a CSV.

The JSONL file is the record: one row per line, appended and flushed as each chunk of
points completes (in completion order), each row tagged with its sweep's id. Resuming
reads it back: rows of this sweep are done; a last line cut short by an interruption is
dropped (the file is truncated to its last whole line); a row of another sweep is an
error, so two sweeps never mix in one file.

The CSV is derived: every row of the sweep, sorted by point index, columns in the sweep's
order. Empty cells are results a point did not produce (see its ``error``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterable

from simlow.errors import SimlowError


def _complete_lines(path: Path) -> list[str]:
    """Whole lines of ``path``; a partial last line (no newline) is cut from the file."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with path.open("r+b") as f:
            f.truncate(end)
    return data[:end].decode().splitlines()


def done_rows(path: Path, sweep_id: str) -> dict[int, dict]:
    """Rows already recorded for sweep ``sweep_id``, by point index (empty if no file)."""
    if not path.exists():
        return {}
    rows: dict[int, dict] = {}
    for n, line in enumerate(_complete_lines(path), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise SimlowError(f"{path}: line {n} is not JSON; not a sweep results file?") from None
        if row.get("sweep") != sweep_id:
            raise SimlowError(f"{path}: line {n} belongs to another sweep (id {row.get('sweep')!r}, this one is "
                              f"{sweep_id!r}); give another output or start over with --restart")
        rows[row["index"]] = row
    return rows


def append_rows(path: Path, rows: Iterable[dict]) -> None:
    """Append rows, one JSON document per line, and flush them to the file."""
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
    with path.open("a") as f:
        f.write(text)
        f.flush()


def write_csv(path: Path, rows: Iterable[dict], columns: Iterable[str]) -> None:
    """Rows sorted by index, one column per name in ``columns``."""
    cols = list(columns)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for row in sorted(rows, key=lambda r: r["index"]):
            w.writerow({k: "" if row.get(k) is None else row[k] for k in cols})
