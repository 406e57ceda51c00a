"""A real model through a design: 2,048 tokens of SmolLM2-135M (Q4_1 GGUF) under the INT8
design (int8 weights and activations, exact int32 accumulation), timed against the float
JAX forward pass on the same windows in the same run."""

from __future__ import annotations

import math
import time
from pathlib import Path

from simlow.bench import BenchResult

N_TOKENS = 2048
CTX = 512
TEXT = Path(__file__).resolve().parents[2] / "workloads" / "text" / "kjv-genesis-1-5.txt"


def _lm_int8_bench() -> BenchResult:
    import jax
    from gguf import GGUFReader

    from simlow.lm.design import load_design
    from simlow.lm.evaluate import _window_stats, windows
    from simlow.lm.forward import forward, prepare_model
    from simlow.lm.gguf_load import load_gguf, smollm2_path
    from simlow.lm.tokenizer import Tokenizer

    t0 = time.perf_counter()
    path = smollm2_path()
    reader = GGUFReader(str(path))
    model = load_gguf(path, reader)
    ids = Tokenizer.from_gguf(path, reader).encode(TEXT.read_text(encoding="utf-8"))[:N_TOKENS]
    ref, pm = prepare_model(model, load_design("float")), prepare_model(model, load_design("int8"))
    t_setup = time.perf_counter() - t0
    wins = windows(len(ids), CTX, CTX - 1)
    for p in (ref, pm):                              # compile once per design (same window shape)
        jax.block_until_ready(forward(p, ids[:CTX]))
    t_ref = t_int = 0.0
    sums = [0.0] * 4
    count = 0
    for start, end, first in wins:
        win = ids[start:end]
        a = time.perf_counter()
        lr = jax.block_until_ready(forward(ref, win))
        b = time.perf_counter()
        ld = jax.block_until_ready(forward(pm, win))
        t_ref, t_int = t_ref + (b - a), t_int + (time.perf_counter() - b)
        lo = first - start - 1
        stats = _window_stats(lr[lo:-1], ld[lo:-1], jax.numpy.asarray(win[lo + 1:]))
        sums = [s + float(v) for s, v in zip(sums, stats)]
        count += len(win) - lo - 1
    ratio = t_int / t_ref
    return BenchResult(
        "lm.smollm2_135m_int8_2048tok", t_int, "s (int8 design, 2,048 tokens, compiled)", "<= 60 s and <= 3x float",
        t_int <= 60 and ratio <= 3,
        f"{ratio:.2f}x the float JAX forward ({t_ref:.1f} s) on the same {len(wins)} windows of {CTX} "
        f"tokens; {count} targets: ppl int8 {math.exp(sums[0] / count):.3f} vs float "
        f"{math.exp(sums[1] / count):.3f}, KL {sums[2] / count:.4f}, top-1 {sums[3] / count:.3f}; "
        f"load + tokenize + prepare {t_setup:.0f} s and one compile per design not in the times")


BENCHES = (_lm_int8_bench,)
