"""Running a sweep: skip what the results file already holds, run the rest, record rows.

``run(spec, jsonl, backend)`` is a generator: it first works out which points the file
``jsonl`` already holds (``store.done_rows``), then ships the others in chunks to the
backend and yields each new row right after appending it to the file. Stopping early
(Ctrl-C, closing the generator, a killed process) loses at most the chunks in flight;
running again picks up where it stopped. Rows depend only on their point's settings, so a
resumed sweep ends with the same rows as an uninterrupted one.

``run_sweep`` runs to the end and returns every row of the sweep sorted by index, and
writes the CSV beside the JSONL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from simlow.sweep.backends import LocalPool, Serial
from simlow.sweep.spec import SweepSpec
from simlow.sweep.store import append_rows, done_rows, write_csv


@dataclass(frozen=True)
class Plan:
    spec: SweepSpec
    jsonl: Path
    todo: tuple[tuple[int, dict], ...]     # (index, settings) not yet in the file
    done: int                              # points the file already holds

    @property
    def total(self) -> int:
        return self.spec.size


def plan(spec: SweepSpec, jsonl: str | Path, restart: bool = False) -> Plan:
    """What is left to run (``restart`` empties the results file first)."""
    path = Path(jsonl)
    if restart and path.exists():
        path.write_text("")
    have = done_rows(path, spec.id)
    todo = tuple((i, p) for i, p in enumerate(spec.points()) if i not in have)
    return Plan(spec, path, todo, len(have))


def chunks(todo, workers: int, per_worker: int = 4, most: int = 64) -> list[list]:
    """Split points into about ``workers * per_worker`` chunks of at most ``most`` points."""
    n = len(todo)
    size = max(1, min(most, -(-n // max(1, workers * per_worker))))
    return [list(todo[i:i + size]) for i in range(0, n, size)]


def run(p: Plan, backend=Serial()) -> Iterator[dict]:
    """Run the plan's remaining points, yielding each row once it is in the file."""
    p.jsonl.parent.mkdir(parents=True, exist_ok=True)
    p.jsonl.touch()
    parts = chunks(p.todo, max(1, getattr(backend, "workers", 1)))
    for rows in backend.run(p.spec.evaluate, parts):
        tagged = [{"sweep": p.spec.id, **r} for r in rows]
        append_rows(p.jsonl, tagged)
        yield from tagged


def run_sweep(spec: SweepSpec, jsonl: str | Path, backend=LocalPool(), restart: bool = False) -> list[dict]:
    """Run (or finish) the sweep; every row sorted by index; the CSV written beside the JSONL."""
    p = plan(spec, jsonl, restart)
    for _ in run(p, backend):
        pass
    rows = sorted(done_rows(p.jsonl, spec.id).values(), key=lambda r: r["index"])
    write_csv(p.jsonl.with_suffix(".csv"), rows, spec.columns)
    return rows
