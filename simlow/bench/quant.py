"""Quantizer speed: simlow (JAX) against gguf-py's numpy quantizers, and the fast
Walsh-Hadamard transform against a dense matmul, each timed in the same run."""

from __future__ import annotations

import statistics
import time

import numpy as np

from simlow.bench import BenchResult, best_time

_N = 4096


def _rounds(fns, rounds: int) -> list[list[float]]:
    """Wall times (s) of each of ``fns``, called in turn once per round (after one warm-up
    call each), so that load on this shared machine hits both sides of a ratio alike."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return times


def _quant_bench(name: str, rounds: int = 7):
    def bench() -> BenchResult:
        import jax
        from gguf.constants import GGMLQuantizationType as T
        from gguf.quants import quantize as gguf_quantize

        from simlow.quant import quantize

        x = np.random.default_rng(0).standard_normal((_N, _N)).astype(np.float32)

        def ours():   # NumPy in, GGUF block bytes out (as a bytes object), as gguf-py
            return quantize(x, name).to_bytes()

        def ref():    # gguf-py: NumPy in, GGUF block bytes out (as a uint8 array)
            return gguf_quantize(x, T[name.upper()])

        assert ours() == ref().tobytes()
        t_ours, t_ref = _rounds((ours, ref), rounds)
        ratios = [r / o for r, o in zip(t_ref, t_ours)]
        xj = jax.device_put(x)
        t_dev, t_codes = _rounds((lambda: quantize(xj, name).to_bytes(),
                                  lambda: quantize(x, name).codes.block_until_ready()), 3)
        ratio = statistics.median(ratios)
        lazy = " (unpacked from the bytes on first access; not in the ratio)" if name != "mxfp4" else ""
        ms = lambda ts: f"{statistics.median(ts) * 1e3:.1f} ms ({min(ts) * 1e3:.1f}-{max(ts) * 1e3:.1f})"
        return BenchResult(
            f"quant.{name}_4096x4096", ratio, "x faster than gguf-py numpy (median of per-round ratios)",
            ">= 5x", ratio >= 5,
            f"{rounds} rounds, ratio range {min(ratios):.2f}-{max(ratios):.2f}; NumPy in, bytes out: "
            f"simlow {ms(t_ours)}, gguf-py {ms(t_ref)} (median (min-max)); from a JAX array {ms(t_dev)}; "
            f"NumPy in, codes out{lazy} {ms(t_codes)}")
    return bench


def _fwht_bench() -> BenchResult:
    import jax
    import jax.numpy as jnp

    from simlow.quant.rotations import hadamard_matrix, hadamard_transform

    x = jnp.asarray(np.random.default_rng(1).standard_normal((64, _N)).astype(np.float32))
    h = jnp.asarray(hadamard_matrix(_N).astype(np.float32) / np.sqrt(_N))
    dense = jax.jit(lambda v: v @ h.T)
    t_fast = best_time(lambda: jax.block_until_ready(hadamard_transform(x)), repeat=5)
    t_dense = best_time(lambda: jax.block_until_ready(dense(x)), repeat=5)
    return BenchResult("quant.fwht_4096", t_dense / t_fast, "x faster than dense matmul", "report",
                       None, f"64 vectors: butterfly {t_fast * 1e3:.2f} ms, dense {t_dense * 1e3:.2f} ms")


BENCHES = (_quant_bench("q4_0"), _quant_bench("q8_0"), _quant_bench("mxfp4"), _fwht_bench)
