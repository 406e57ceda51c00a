"""Datapath speed: exact GEMMs against NumPy float32 matmul of the same shape, one run.

Each benchmark times the simlow datapath and ``numpy.matmul`` on float32 operands of the
same shape in the same process (ratios, since the machine is shared) and checks a slice of
the simlow output against an int64 NumPy reference, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import numpy as np

from simlow import datapath as dp
from simlow.bench import BenchResult, best_time

_N = 1024


def _f32_time(m: int, k: int, n: int, rng) -> float:
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    return best_time(lambda: a @ b)


def _paired(m: int, k: int, n: int, fn, rng, rounds: int = 5) -> tuple[float, float]:
    """Best times of numpy f32 matmul and ``fn``, measured alternately (shared, noisy machine)."""
    base, t = float("inf"), float("inf")
    for _ in range(rounds):
        base = min(base, _f32_time(m, k, n, rng))
        t = min(t, best_time(fn, repeat=1))
    return base, t


def _int_gemm(unit: str, bits: int) -> BenchResult:
    rng = np.random.default_rng(0)
    lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)
    a = rng.integers(lo, hi, (_N, _N)).astype(np.int8)
    w = rng.integers(lo, hi, (_N, _N)).astype(np.int8)
    base, t = _paired(_N, _N, _N, lambda: dp.matmul(a, w, unit=unit), rng)
    y = dp.matmul(a, w, unit=unit)
    exact = np.array_equal(y[:16].astype(np.int64), a[:16].astype(np.int64) @ w.astype(np.int64))
    ratio = t / base
    return BenchResult(f"{unit} GEMM 1024^3 exact (32-bit acc, no overflow)", ratio,
                       "x numpy f32 matmul time", "<= 3x", ratio <= 3 and exact,
                       f"simlow {t * 1e3:.1f} ms, numpy f32 {base * 1e3:.1f} ms, rows checked exact: {exact}")


def bench_int8() -> BenchResult:
    return _int_gemm("int8_tensor_core", 8)


def bench_int4() -> BenchResult:
    return _int_gemm("int4_tensor_core", 4)


def bench_pot() -> BenchResult:
    rng = np.random.default_rng(1)
    a = rng.integers(-128, 128, (_N, _N)).astype(np.int8)
    sign = rng.choice([-1, 0, 1], (_N, _N)).astype(np.int8)
    exp = rng.integers(-7, 1, (_N, _N)).astype(np.int8)          # 7 right shifts + none
    base, t = _paired(_N, _N, _N, lambda: dp.matmul(a, (sign, exp), unit="pot_shift_add"), rng)
    y = dp.matmul(a, (sign, exp), unit="pot_shift_add")
    rows = a[:4, :, None].astype(np.int64) >> -exp.astype(np.int64)[None]   # arithmetic shift = floor
    exact = np.array_equal(y[:4].astype(np.int64), (rows * sign[None]).sum(axis=1))
    ratio = t / base
    return BenchResult("PoT shift-add GEMM 1024^3 exact (exp -7..0, floor truncation)", ratio,
                       "x numpy f32 matmul time", "<= 10x", ratio <= 10 and exact,
                       f"simlow {t * 1e3:.1f} ms, numpy f32 {base * 1e3:.1f} ms, rows checked exact: {exact}")


def bench_fp8() -> BenchResult:
    rng = np.random.default_rng(2)
    m, k, n = 256, 4096, 256
    a = rng.integers(0, 0x7F, (m, k), dtype=np.uint8) | (rng.integers(0, 2, (m, k), dtype=np.uint8) << 7)
    b = rng.integers(0, 0x7F, (k, n), dtype=np.uint8) | (rng.integers(0, 2, (k, n), dtype=np.uint8) << 7)
    t = best_time(lambda: dp.matmul(a, b, unit="h100-fp8", fast_accum=False), repeat=1)
    base = _f32_time(m, k, n, rng)
    macs = m * k * n / t
    return BenchResult("FP8 narrow-accumulator GEMM 256x256x4096 (h100-fp8-slow)", macs, "MAC/s",
                       "report (vectorized over M, N)", None,
                       f"{t:.2f} s; {t / base:.0f}x numpy f32 matmul of the same shape")


BENCHES = (bench_int8, bench_int4, bench_pot, bench_fp8)
