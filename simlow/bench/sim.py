"""Simulator speed: a 100,000-point roofline sweep (target: about 1 s), and the vectorized
sweep against evaluating the same points one at a time (measured on a sample, same run)."""

from __future__ import annotations

import time

import numpy as np

from simlow.bench import BenchResult, best_time
from simlow.sim.sweep import decode_sweep

N = 100_000


def _points(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return dict(bandwidth_Bps=rng.uniform(50e9, 8e12, n), peak_ops=rng.uniform(10e12, 4e15, n),
                weight_bits=rng.choice([1.58, 2.0, 3.0, 4.0, 4.5, 6.0, 8.0, 16.0], n),
                batch=rng.integers(1, 256, n), context=rng.integers(0, 32768, n))


def sweep_100k() -> BenchResult:
    pts = _points(N)
    t = best_time(lambda: decode_sweep("llama-3-70b", "q4_0", "llama.cpp-cuda", **pts), repeat=2)
    return BenchResult("sim.roofline_sweep_100k", t, "s", "about 1 s", t <= 1.5,
                       f"{N} design points (bandwidth, peak ops, bits, batch, context), llama-3-70b decode step")


def sweep_vs_pointwise() -> BenchResult:
    sample = 200
    pts = _points(N)
    t_vec = best_time(lambda: decode_sweep("llama-3-70b", "q4_0", "llama.cpp-cuda", **pts), repeat=2)
    small = _points(sample, seed=1)
    t0 = time.perf_counter()
    for i in range(sample):
        decode_sweep("llama-3-70b", "q4_0", "llama.cpp-cuda", **{k: v[i] for k, v in small.items()})
    per_point = (time.perf_counter() - t0) / sample
    ratio = per_point * N / t_vec
    return BenchResult("sim.sweep_speedup_vs_pointwise", ratio, "x one-point-at-a-time time", "", None,
                       f"pointwise {per_point * 1e3:.2f} ms/point (sampled on {sample}), vectorized {t_vec:.3f} s for {N}")


BENCHES = (sweep_100k, sweep_vs_pointwise)
