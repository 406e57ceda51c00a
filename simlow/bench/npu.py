"""NPU sizing speed: the vectorized design sweep (target: thousands of points in seconds),
and the same points evaluated one at a time (evaluate + generated spec + simlow predict,
sampled, same run)."""

from __future__ import annotations

import time

from simlow.bench import BenchResult, best_time
from simlow.npu.sweep import Grid, sweep
from simlow.workload.tokens import Workload
from simlow.npu.spec import to_hardware_spec
from simlow.npu.sizing import size

MODEL, SCHEME = "llama-3-8b", "pot-w4"
GRID = Grid()  # 8 sides x 5 counts x 8 SRAM sizes x 5 widths x 5 lane counts = 8000 points


def _size():
    return size(MODEL, SCHEME, 20.0, "28nm", "lpddr5x-8533", grid=GRID)


def sizing_sweep() -> BenchResult:
    n = _size().points
    t = best_time(_size, repeat=2)
    return BenchResult("npu.sizing_sweep", t, "s", "thousands of design points in seconds (<= 5 s)", t <= 5.0,
                       f"{n} design points, llama-3-8b pot-w4 decode (prompt 512, gen 128), 28 nm, lpddr5x-8533")


def sizing_vs_pointwise() -> BenchResult:
    from simlow.sim.predict import predict

    res = _size()
    t_vec = best_time(_size, repeat=2)
    sw = sweep(MODEL, SCHEME, Workload(), res.design, GRID, open_width=True)
    sample = [int(i) for i in range(0, sw.area_mm2.size, max(1, sw.area_mm2.size // 8))][:8]
    t0 = time.perf_counter()
    for i in sample:
        predict(MODEL, to_hardware_spec(sw.design(i)), SCHEME, stack="ideal-npu")
    per_point = (time.perf_counter() - t0) / len(sample)
    return BenchResult("npu.sizing_speedup_vs_pointwise", per_point * res.points / t_vec, "x one-point-at-a-time time",
                       "", None, f"pointwise {per_point * 1e3:.1f} ms/point (spec + predict, sampled on "
                                 f"{len(sample)}), vectorized {t_vec:.3f} s for {res.points}")


BENCHES = (sizing_sweep, sizing_vs_pointwise)
