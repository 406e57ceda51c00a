"""Benchmarks: the project's own speed figures, reported by ``simlow bench``.

Each benchmark is measured as a ratio against a peer or baseline timed in the same run
(these machines are shared and noisy), never as a timed unit test. A benchmark module
exposes ``BENCHES``: a tuple of zero-argument callables, each returning ``BenchResult``.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import asdict, dataclass
from typing import Callable

# Explicit list: one module per area, each with a BENCHES tuple.
MODULES: tuple[str, ...] = ("datapath", "sim", "quant", "npu", "des", "serving", "lm")


@dataclass(frozen=True)
class BenchResult:
    name: str
    value: float          # the measured figure (a ratio where a baseline exists)
    unit: str             # e.g. "x numpy f32 matmul time", "s", "MAC/s"
    target: str           # the target in words, e.g. "<= 3x"
    met: bool | None      # whether the target is met (None where there is no target)
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls to ``fn`` (after one warm-up call), in seconds."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run_all(selected: tuple[str, ...] = ()) -> list[BenchResult]:
    """Run every benchmark of every module (or only the modules named in ``selected``)."""
    results = []
    for name in MODULES:
        if selected and name not in selected:
            continue
        module = importlib.import_module(f"simlow.bench.{name}")
        results.extend(bench() for bench in module.BENCHES)
    return results
