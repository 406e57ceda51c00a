"""Quantizer speed: simlow (JAX) against gguf-py's numpy quantizers, and the fast
Walsh-Hadamard transform against a dense matmul, each timed in the same run."""

from __future__ import annotations

import numpy as np

from simlow.bench import BenchResult, best_time

_N = 4096


def _quant_bench(name: str):
    def bench() -> BenchResult:
        import jax
        from gguf.constants import GGMLQuantizationType as T
        from gguf.quants import quantize as gguf_quantize

        from simlow.quant import quantize

        x = np.random.default_rng(0).standard_normal((_N, _N)).astype(np.float32)

        def ours():   # NumPy in, GGUF block bytes out, as gguf-py (codes kept as well)
            return quantize(x, name).to_bytes()

        assert ours() == gguf_quantize(x, T[name.upper()]).tobytes()
        t_ours = best_time(ours, repeat=5)
        t_ref = best_time(lambda: gguf_quantize(x, T[name.upper()]), repeat=3)
        xj = jax.device_put(x)
        t_dev = best_time(lambda: quantize(xj, name), repeat=5)
        ratio = t_ref / t_ours
        return BenchResult(f"quant.{name}_4096x4096", ratio, "x faster than gguf-py numpy", ">= 5x",
                           ratio >= 5, f"simlow {t_ours * 1e3:.1f} ms (NumPy in, codes + bytes out; "
                           f"from a JAX array, codes only {t_dev * 1e3:.1f} ms), gguf-py {t_ref * 1e3:.1f} ms")
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
