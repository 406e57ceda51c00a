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
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
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


def _one_process(model: str, name: str, seed: int) -> dict:
    """The measurement inside a fresh process (see the module docstring)."""
    import jax
    from gguf.constants import GGMLQuantizationType as T
    from gguf.quants import quantize as gguf_quantize
    from jax import monitoring

    from simlow.quant import quantize

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


def _spawn(model: str, name: str, seed: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "simlow.bench.quant_model", model, name, str(seed)],
                         capture_output=True, text=True, timeout=1800, env=dict(os.environ))
    if out.returncode:
        raise SimlowError(f"model-shape benchmark process failed: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _span(xs: list[float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def model_shape_benches(model: str, formats: tuple[str, ...] = ("q4_0", "q8_0"),
                        runs: int = 3) -> list[BenchResult]:
    """Two results per format: end to end over the model's shapes, and the first call."""
    shapes = distinct_shapes(model)               # a bad model name fails here, in this process
    results = []
    for name in formats:
        procs = [_spawn(model, name, seed) for seed in range(runs)]
        ours = [sum(r["ours_s"] for r in p["rows"]) for p in procs]
        ref = [sum(r["gguf_s"] for r in p["rows"]) for p in procs]
        warm = [sum(r["warm_s"] for r in p["rows"]) for p in procs]
        comp = [sum(r["compile_s"] for r in p["rows"]) for p in procs]
        ncomp = [sum(r["compiles"] for r in p["rows"]) for p in procs]
        ratios = [g / o for g, o in zip(ref, ours)]
        results.append(BenchResult(
            f"quant.{name}_{model}_shapes", statistics.median(ratios),
            "x faster than gguf-py, end to end incl. compile (median of fresh processes)", ">= 3x",
            statistics.median(ratios) >= 3,
            f"{runs} processes, {len(shapes)} shapes {', '.join('x'.join(map(str, s)) for s in shapes)}; "
            f"ratio {_span(ratios)}; simlow {_span(ours)} s of which compile {_span(comp)} s "
            f"({_span(ncomp, '{:.0f}')} XLA compiles + their tracing); gguf-py {_span(ref)} s; simlow again, warm "
            f"{_span(warm)} s ({_span([g / w for g, w in zip(ref, warm)])}x gguf-py)"))
        first = [p["rows"][0] for p in procs]
        f_ratio = [r["gguf_s"] / r["ours_s"] for r in first]
        label = "x".join(map(str, shapes[0]))
        results.append(BenchResult(
            f"quant.{name}_first_{label}", statistics.median(f_ratio),
            "x faster than gguf-py, first call in a fresh process incl. compile", ">= 5x",
            statistics.median(f_ratio) >= 5,
            f"ratio {_span(f_ratio)}; simlow {_span([r['ours_s'] for r in first])} s of which "
            f"compile {_span([r['compile_s'] for r in first])} s ({_span([r['compiles'] for r in first], '{:.0f}')} "
            f"XLA compiles + their tracing); gguf-py {_span([r['gguf_s'] for r in first])} s; without the compile "
            f"{_span([r['gguf_s'] / max(1e-9, r['ours_s'] - r['compile_s']) for r in first])}x"))
    return results


if __name__ == "__main__":
    print(json.dumps(_one_process(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
