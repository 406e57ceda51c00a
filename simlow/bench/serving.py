"""Serving simulation speed: 10,000 requests of a 7B model (issue target: <= 2 s).

llama-2-7b (f16) on an H100 SXM under vLLM, Poisson arrivals at 20 requests/s (below the
simulated capacity, so every arrival is its own admission), 512-token prompts and 128
output tokens: about 2.6 M tokens through tens of thousands of scheduler steps. The
detail gives the time of one small NumPy operation measured in the same run, since these
machines are shared and the simulation is bound by per-step NumPy call overhead, and the
process CPU time of the timed run beside its wall time (on a loaded machine the wall time
is mostly waiting for a core)."""

from __future__ import annotations

import time

import numpy as np

from simlow.bench import BenchResult
from simlow.serving import simulate_serving

N = 10_000


def _run():
    return simulate_serving("llama-2-7b", "h100-sxm", "f16", arrivals="poisson", rate=20.0, requests=N,
                            prompt_len=512, output_len=128, seed=0)


def _small_op_us() -> float:
    a = np.arange(128.0)
    t0 = time.perf_counter()
    for _ in range(20_000):
        a + 1.0
    return (time.perf_counter() - t0) / 20_000 * 1e6


def serving_10k() -> BenchResult:
    r = _run()                      # the warm-up (imports, step-cost tables) and the figures reported
    w0, c0 = time.perf_counter(), time.process_time()
    _run()
    t, cpu = time.perf_counter() - w0, time.process_time() - c0
    return BenchResult("serving.vllm_10k_requests_7b", t, "s", "<= 2 s", t <= 2.0,
                       f"{N} requests, {r.steps} steps, {r.throughput_requests_per_s:.1f} req/s simulated, "
                       f"{N / t:,.0f} requests simulated per wall second; process CPU time {cpu:.2f} s "
                       f"(the wall time also counts waiting for shared cores); one small NumPy op "
                       f"{_small_op_us():.2f} us on this machine now")


BENCHES = (serving_10k,)
