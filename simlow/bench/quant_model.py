"""Quantizing every distinct weight shape of a model, compile included: simlow against
gguf-py on the same arrays, in fresh processes (``simlow bench quant --model-shapes M``).

One measurement is one new Python process (``python -m simlow.bench.quant_model``) that
quantizes, for one format, one tensor of each distinct weight shape of the model (the
shapes ``specs.tensors.weight_tensors`` lists, norms included), the attention Q shape
first, each with simlow (NumPy in, GGUF bytes out, timed from the first call, so XLA's
compiles are inside) and then with gguf-py; it checks the bytes are equal and records the
seconds JAX spent tracing, lowering and XLA-compiling during each call (JAX's own
monitoring events), so compile time is reported apart. The JAX CPU client is started
before timing (that is start-up, not compile). ``runs`` processes give medians and ranges.

Each run is three processes: the default one (no compile cache: what every user gets), then
two that opt in to the persistent compile cache (``simlow.quant.enable_compile_cache``) in a
new empty directory: the first finds it cold and writes it, the second finds it warm (what a
user who opted in gets from the second process on). The default and warm-cache figures are
reported as separate results; the cold-cache one in the warm result's detail.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from simlow.bench import BenchResult
from simlow.errors import SimlowError

# JAX's events for tracing, lowering and XLA-compiling a jitted function (jax 0.4.30-0.10).
_COMPILE = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
            "/jax/core/compile/backend_compile_duration")


def distinct_shapes(model: str) -> list[tuple[int, int]]:
    """The model's distinct (rows, cols) weight shapes, the attention Q shape first."""
    from simlow.specs import load_model
    from simlow.specs.model import TensorClass
    from simlow.specs.tensors import weight_tensors

    tensors = weight_tensors(load_model(model))
    first = [(w.rows, w.cols) for w in tensors if w.cls is TensorClass.ATTN_Q][:1]
    return list(dict.fromkeys(first + [(w.rows, w.cols) for w in tensors]))


def _one_process(model: str, name: str, seed: int, cache: str = "") -> dict:
    """The measurement inside a fresh process (see the module docstring); ``cache``: the
    compile cache directory to opt in to, or "" for none."""
    import jax
    from gguf.constants import GGMLQuantizationType as T
    from gguf.quants import quantize as gguf_quantize
    from jax import monitoring

    from simlow.quant import enable_compile_cache, quantize

    if cache:
        enable_compile_cache(cache)
    compiled: list[float] = []
    monitoring.register_event_duration_secs_listener(
        lambda event, secs, **_: compiled.append((event == _COMPILE[2], secs)) if event in _COMPILE else None)
    jax.devices()                                # start the CPU client (not a compile)
    rng = np.random.default_rng(seed)
    rows = []
    for shape in distinct_shapes(model):
        x = rng.standard_normal(shape, dtype=np.float32)
        n0 = len(compiled)
        t0 = time.perf_counter()
        ours = quantize(x, name).to_bytes()
        t1 = time.perf_counter()
        ref = gguf_quantize(x, T[name.upper()])
        t2 = time.perf_counter()
        if ours != ref.tobytes():
            raise SimlowError(f"{name} bytes differ from gguf-py on shape {shape}")
        t3 = time.perf_counter()
        quantize(x, name).to_bytes()
        rows.append({"shape": list(shape), "ours_s": t1 - t0, "gguf_s": t2 - t1,
                     "warm_s": time.perf_counter() - t3, "compile_s": sum(t for _, t in compiled[n0:]),
                     "compiles": sum(xla for xla, _ in compiled[n0:])})
    return {"model": model, "format": name, "rows": rows}


def _spawn(model: str, name: str, seed: int, cache: str = "") -> dict:
    out = subprocess.run([sys.executable, "-m", "simlow.bench.quant_model", model, name, str(seed), cache],
                         capture_output=True, text=True, timeout=1800, env=dict(os.environ))
    if out.returncode:
        raise SimlowError(f"model-shape benchmark process failed: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _span(xs: list[float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def _cached_runs(model: str, name: str, seed: int) -> tuple[dict, dict]:
    """(cold-cache, warm-cache) processes sharing a new, empty compile cache directory."""
    with tempfile.TemporaryDirectory(prefix="simlow-jax-cache-") as cache:
        return _spawn(model, name, seed, cache), _spawn(model, name, seed, cache)


def model_shape_benches(model: str, formats: tuple[str, ...] = ("q4_0", "q8_0"),
                        runs: int = 3) -> list[BenchResult]:
    """Four results per format: end to end over the model's shapes and the first call, each
    by default (no compile cache) and with a warm opt-in compile cache."""
    shapes = distinct_shapes(model)               # a bad model name fails here, in this process
    results = []
    for name in formats:
        procs, cold, warm = [], [], []
        for seed in range(runs):
            procs.append(_spawn(model, name, seed))
            c, w = _cached_runs(model, name, seed)
            cold.append(c)
            warm.append(w)
        results += _results(model, name, shapes, procs, "")
        cold_total = [sum(r["ours_s"] for r in p["rows"]) for p in cold]
        results += _results(model, name, shapes, warm, "warm_cache",
                            f"; with the cache cold (empty, written by that process) simlow took {_span(cold_total)} s")
    return results


def _ratio(bench: str, ratios: list[float], unit: str, limit: float, detail: str) -> BenchResult:
    """A result whose figure is the median of ``ratios``, its target ``>= limit``x."""
    median = statistics.median(ratios)
    return BenchResult(bench, median, unit, f">= {limit:g}x", median >= limit, f"ratio {_span(ratios)}; {detail}")


def _results(model: str, name: str, shapes: list, procs: list[dict], tag: str, extra: str = "") -> list[BenchResult]:
    """End to end and first call over the processes ``procs`` ("" tag: no compile cache)."""
    how = ", warm opt-in compile cache" if tag else ""
    suffix = f"_{tag}" if tag else ""
    total = lambda key: [sum(r[key] for r in p["rows"]) for p in procs]
    ours, ref, warm, comp = total("ours_s"), total("gguf_s"), total("warm_s"), total("compile_s")
    end_to_end = _ratio(
        f"quant.{name}_{model}_shapes{suffix}", [g / o for g, o in zip(ref, ours)],
        f"x faster than gguf-py, end to end incl. compile (median of fresh processes{how})", 3,
        f"{len(procs)} processes, {len(shapes)} shapes {', '.join('x'.join(map(str, s)) for s in shapes)}; "
        f"simlow {_span(ours)} s of which compile {_span(comp)} s "
        f"({_span(total('compiles'), '{:.0f}')} XLA compiles + their tracing); gguf-py {_span(ref)} s; simlow "
        f"again, warm {_span(warm)} s ({_span([g / w for g, w in zip(ref, warm)])}x gguf-py){extra}")
    first = [p["rows"][0] for p in procs]
    first_call = _ratio(
        f"quant.{name}_first_{'x'.join(map(str, shapes[0]))}{suffix}", [r["gguf_s"] / r["ours_s"] for r in first],
        f"x faster than gguf-py, first call in a fresh process incl. compile{how}", 5,
        f"simlow {_span([r['ours_s'] for r in first])} s of which "
        f"compile {_span([r['compile_s'] for r in first])} s ({_span([r['compiles'] for r in first], '{:.0f}')} "
        f"XLA compiles + their tracing); gguf-py {_span([r['gguf_s'] for r in first])} s; without the compile "
        f"{_span([r['gguf_s'] / max(1e-9, r['ours_s'] - r['compile_s']) for r in first])}x")
    return [end_to_end, first_call]


if __name__ == "__main__":
    print(json.dumps(_one_process(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])))
