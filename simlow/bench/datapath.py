"""Datapath speed: exact GEMMs against NumPy float32 matmul of the same shape, one run.

Each benchmark times the simlow datapath and ``numpy.matmul`` on float32 operands of the
same shape in the same process (ratios, since the machine is shared) and checks a slice of
the simlow output against an int64 NumPy reference, so a fast wrong answer cannot pass.
FP8 has no cheap independent reference at this size: its benchmark checks that a row
subset run alone gives the same bits, and tests/datapath checks it against a Fraction
reference (K = 4096 included) and the recorded H100 bits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from simlow import datapath as dp
from simlow.bench import BenchResult, best_time

_N = 1024


def _f32_time(m: int, k: int, n: int, rng) -> float:
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    return best_time(lambda: a @ b)


@dataclass(frozen=True)
class _Paired:
    base: float        # median numpy f32 matmul time, s
    t: float           # median time of the measured call, s
    ratio: float       # median of the per-round ratios t / base
    spread: str        # the per-round ratio range, for the detail


def _paired(m: int, k: int, n: int, fn, rng, rounds: int = 5) -> _Paired:
    """Each round times numpy f32 matmul (best of 3) and then one call of ``fn``, back to
    back, and forms their ratio; the result is the median over rounds. The load of a shared
    machine drifts, so ratios formed within a round and a median resist it better than
    independent minima (which favour the shorter, more often sampled baseline)."""
    fn()
    bases, times, ratios = [], [], []
    for _ in range(rounds):
        base = _f32_time(m, k, n, rng)
        t0 = time.perf_counter()
        fn()
        t = time.perf_counter() - t0
        bases.append(base)
        times.append(t)
        ratios.append(t / base)
    return _Paired(float(np.median(bases)), float(np.median(times)), float(np.median(ratios)),
                   f"per-round ratios {min(ratios):.2f}..{max(ratios):.2f} over {rounds} rounds")


def _int_gemm(unit: str, bits: int) -> BenchResult:
    rng = np.random.default_rng(0)
    lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)
    a = rng.integers(lo, hi, (_N, _N)).astype(np.int8)
    w = rng.integers(lo, hi, (_N, _N)).astype(np.int8)
    p = _paired(_N, _N, _N, lambda: dp.matmul(a, w, unit=unit), rng)
    y = dp.matmul(a, w, unit=unit)
    exact = np.array_equal(y[:16].astype(np.int64), a[:16].astype(np.int64) @ w.astype(np.int64))
    return BenchResult(f"{unit} GEMM 1024^3 exact (32-bit acc, no overflow)", p.ratio,
                       "x numpy f32 matmul time", "<= 3x", p.ratio <= 3 and exact,
                       f"simlow {p.t * 1e3:.1f} ms, numpy f32 {p.base * 1e3:.1f} ms (medians), "
                       f"{p.spread}, rows checked exact: {exact}")


def bench_int8() -> BenchResult:
    return _int_gemm("int8_tensor_core", 8)


def bench_int4() -> BenchResult:
    return _int_gemm("int4_tensor_core", 4)


def _pot_case():
    rng = np.random.default_rng(1)
    a = rng.integers(-128, 128, (_N, _N)).astype(np.int8)
    sign = rng.choice([-1, 0, 1], (_N, _N)).astype(np.int8)
    exp = rng.integers(-7, 1, (_N, _N)).astype(np.int8)          # 7 right shifts + none
    return a, (sign, exp), rng


def _pot_exact(a, w, y) -> bool:
    sign, exp = w
    rows = a[:4, :, None].astype(np.int64) >> -exp.astype(np.int64)[None]   # arithmetic shift = floor
    return np.array_equal(y[:4].astype(np.int64), (rows * sign[None]).sum(axis=1))


def bench_pot() -> BenchResult:
    """Per GEMM, weights prepared once (the issue's <= 10x target refers to this figure)."""
    a, w, rng = _pot_case()
    prep = dp.prepare("pot_shift_add", w)
    p = _paired(_N, _N, _N, lambda: dp.matmul(a, prep, unit="pot_shift_add"), rng, rounds=7)
    exact = _pot_exact(a, w, dp.matmul(a, prep, unit="pot_shift_add"))
    return BenchResult("PoT shift-add GEMM 1024^3 exact, per GEMM with prepared weights "
                       "(exp -7..0, floor truncation; the target refers to this)", p.ratio,
                       "x numpy f32 matmul time", "<= 10x", p.ratio <= 10 and exact,
                       f"simlow {p.t * 1e3:.1f} ms, numpy f32 {p.base * 1e3:.1f} ms (medians), "
                       f"{p.spread}, {prep.groups} shift groups in one stacked matmul, "
                       f"rows checked exact: {exact}")


def bench_pot_prepare() -> BenchResult:
    """One-time weight preparation (grouping by shift, stacked masks), and the unprepared call."""
    a, w, rng = _pot_case()
    p = _paired(_N, _N, _N, lambda: dp.prepare("pot_shift_add", w), rng)
    raw = _paired(_N, _N, _N, lambda: dp.matmul(a, w, unit="pot_shift_add"), rng, rounds=3)
    exact = _pot_exact(a, w, dp.matmul(a, w, unit="pot_shift_add"))
    return BenchResult("PoT shift-add 1024x1024 weight preparation (one-time, offline)", p.ratio,
                       "x numpy f32 matmul time", "report (not part of the per-GEMM target)", None,
                       f"prepare {p.t * 1e3:.1f} ms vs numpy f32 1024^3 {p.base * 1e3:.1f} ms "
                       f"(medians), {p.spread}; unprepared call (prepare + GEMM) "
                       f"{raw.ratio:.1f}x, rows checked exact: {exact}")


def bench_fp8() -> BenchResult:
    rng = np.random.default_rng(2)
    m, k, n = 256, 4096, 256
    a = rng.integers(0, 0x7F, (m, k), dtype=np.uint8) | (rng.integers(0, 2, (m, k), dtype=np.uint8) << 7)
    b = rng.integers(0, 0x7F, (k, n), dtype=np.uint8) | (rng.integers(0, 2, (k, n), dtype=np.uint8) << 7)
    p = _paired(m, k, n, lambda: dp.matmul(a, b, unit="h100-fp8", fast_accum=False), rng, rounds=3)
    macs = m * k * n / p.t
    part = dp.matmul(a[:2], b[:, :64], unit="h100-fp8", fast_accum=False).view(np.uint32)
    full = dp.matmul(a, b, unit="h100-fp8", fast_accum=False)[:2, :64].view(np.uint32)
    same = np.array_equal(part, full)
    return BenchResult("FP8 narrow-accumulator GEMM 256x256x4096 (h100-fp8-slow)", macs, "MAC/s",
                       "report (exact float passes over (M, block_k, N) per K block)", None,
                       f"{p.t:.2f} s (median of 3); {p.ratio:.0f}x numpy f32 matmul of the "
                       f"same shape; sub-GEMM bits equal: {same}")


BENCHES = (bench_int8, bench_int4, bench_pot, bench_pot_prepare, bench_fp8)
