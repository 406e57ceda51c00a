"""``simulate_serving``: a request-level simulation of one inference server under load.

Inputs resolve as ``simlow.predict`` resolves them (``simlow.sim.predict.resolve``: model,
device, scheme, stack, engine of the device); the step cost comes from the op graph and the
stack (``simlow.serving.cost``); the server is one of three engines (``ServingEngine``),
each a loop of scheduler iterations over a ``Run`` (``simlow.serving.state``). The clock
advances by step times only (no wall clock, no threads), so a seed gives identical results.

Defaults per engine (each overridable):

* ``vllm``: stack ``vllm``, scheme ``f16``; ``max_num_seqs`` / ``max_num_batched_tokens``
  1024 / 8192 on a device of >= 70 GiB that is not an A100, else 256 / 2048 (vLLM
  ``EngineArgs.get_batch_defaults`` for the OpenAI server, same commit as
  ``simlow.serving.vllm``); prefix caching on (v1's default); KV blocks as
  ``simlow.serving.kv`` computes them.
* ``static``: stack ``tensorrt-llm``, scheme ``f16``; ``max_batch_size`` 256 and
  ``max_num_tokens`` 8192 (trtllm-build's defaults); KV pool as for vLLM.
* ``llama.cpp-server``: the device's llama.cpp stack and scheme default (as ``predict``);
  4 slots, ``n_batch`` 2048 (llama-server's defaults), ``n_ubatch`` the stack's.
"""

from __future__ import annotations

import enum

import numpy as np

from simlow.errors import SimlowError
from simlow.serving.arrivals import Arrivals, load_trace, synthetic
from simlow.serving.cost import step_cost
from simlow.serving.kv import DEFAULT_BLOCK_SIZE, DEFAULT_GPU_MEMORY_UTILIZATION, kv_budget
from simlow.serving.llamacpp import SlotsConfig, run_llamacpp
from simlow.serving.results import ServingResult, build_result
from simlow.serving.state import Run
from simlow.serving.static import StaticConfig, run_static
from simlow.serving.vllm import VllmConfig, run_vllm
from simlow.sim import energy
from simlow.sim.machine import machine
from simlow.sim.predict import resolve
from simlow.workload.templates import templates

GIB = 1024 ** 3


class ServingEngine(enum.Enum):
    VLLM = "vllm"
    STATIC = "static"
    LLAMACPP = "llama.cpp-server"


DEFAULT_STACK = {ServingEngine.VLLM: "vllm", ServingEngine.STATIC: "tensorrt-llm", ServingEngine.LLAMACPP: None}
DEFAULT_SCHEME = {ServingEngine.VLLM: "f16", ServingEngine.STATIC: "f16", ServingEngine.LLAMACPP: None}


def _engine(name) -> ServingEngine:
    try:
        return ServingEngine(name)
    except ValueError:
        raise SimlowError(f"unknown serving engine {name!r} (valid: "
                          f"{', '.join(e.value for e in ServingEngine)})") from None


def _whole(name, v, lo=1):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise SimlowError(f"{name} must be a whole number >= {lo}, got {v!r}")
    return int(v)


def _vllm_defaults(hw, dev) -> tuple[int, int]:
    big = hw.memory(dev.memory).capacity_bytes >= 70 * GIB and "a100" not in hw.name.lower()
    return (1024, 8192) if big else (256, 2048)


def _workload(arrivals, trace, requests, prompt_len, output_len, rate, seed, cv, concurrency):
    if trace is not None:
        return load_trace(trace)
    kind = "closed" if concurrency is not None and arrivals in (None, "closed") else (arrivals or "poisson")
    return synthetic(kind, requests, prompt_len, output_len, rate, seed, cv, concurrency)


def simulate_serving(model, hw, scheme=None, stack=None, engine="vllm", arrivals=None, rate=None,
                     requests=1000, prompt_len=512, output_len=128, trace=None, concurrency=None, cv=1.0,
                     seed=0, max_num_seqs=None, max_batched_tokens=None, long_prefill_token_threshold=0,
                     kv_blocks=None, block_size=DEFAULT_BLOCK_SIZE,
                     gpu_memory_utilization=DEFAULT_GPU_MEMORY_UTILIZATION, prefix_caching=True,
                     kv_scheme=None, slo_ttft=None, slo_tpot=None, ubatch=None,
                     device_engine=None, decode_windows=True, host=None) -> ServingResult:
    """Simulate ``requests`` requests (or a ``trace``) on one server (module docstring).

    ``arrivals``: poisson | constant | gamma (``cv``) | closed (``concurrency`` clients);
    giving ``concurrency`` alone means closed. ``decode_windows=False`` steps vLLM's decode
    stretches one by one (same result, slower; for tests). ``host`` (``simlow.sim.host.ServingHost``)
    replaces the stack's serving host time (what ``simlow.serving.fit`` tries). Bad input
    raises ``SimlowError``."""
    eng = _engine(engine)
    wl = _workload(arrivals, trace, requests, prompt_len, output_len, rate, seed, cv, concurrency)
    longest = int((wl.prompt + wl.output).max())
    req = resolve(model, hw, scheme if scheme is not None else DEFAULT_SCHEME[eng], prompt=int(wl.prompt.max()),
                  gen=int(wl.output.max()), ctx=longest, kv_scheme=kv_scheme,
                  stack=stack if stack is not None else DEFAULT_STACK[eng], engine=device_engine, ubatch=ubatch)
    seqs, tokens = _vllm_defaults(req.hw, req.engine) if eng is ServingEngine.VLLM else (
        (256, 8192) if eng is ServingEngine.STATIC else (4, 2048))
    seqs = _whole("max_num_seqs", max_num_seqs) or seqs
    tokens = _whole("max_batched_tokens", max_batched_tokens) or tokens
    bs = _whole("block_size", block_size)
    thr = _whole("long_prefill_token_threshold", long_prefill_token_threshold, 0)
    for name, v in (("slo_ttft", slo_ttft), ("slo_tpot", slo_tpot)):
        if v is not None and not (isinstance(v, (int, float)) and v > 0):
            raise SimlowError(f"{name} must be a time in seconds > 0, got {v!r}")
    temps, _ = templates(req.model, req.scheme)
    mach = machine(req.hw, req.stack, req.engine)
    moe = req.model.moe
    distinct = None if moe is None else (lambda t: req.routing.distinct(t, moe.experts, moe.top_k))
    max_tokens = max(tokens, seqs) if eng is not ServingEngine.LLAMACPP else max(req.ubatch, seqs)
    host = host if host is not None else req.stack.serving
    cost = step_cost(temps, mach, max_tokens, seqs, distinct, host)
    run = Run(wl, cost)
    notes = [f"stack {req.stack.name}: {req.stack.calibration}", *req.scheme_notes]
    if host is not None:
        notes.append(f"serving host time {host.step_s * 1e6:g} us per step + {host.part_s * 1e6:g} us per "
                     f"request in it: {host.calibration}")
    open_loop = trace is None and wl.kind is not Arrivals.CLOSED
    config = {"max_num_seqs": seqs, "max_batched_tokens": tokens, "seed": seed,
              "rate": float(rate) if open_loop and rate is not None else None,     # offered requests/s
              "concurrency": wl.concurrency or None}
    if eng is ServingEngine.LLAMACPP:
        kv = {"slots": seqs, "slot_context": longest}
        run_llamacpp(run, SlotsConfig(seqs, tokens, req.ubatch))
        config["n_ubatch"] = req.ubatch
    else:
        budget = kv_budget(req.model, req.hw, req.scheme, req.engine, bs, gpu_memory_utilization, tokens, seqs,
                           _whole("kv_blocks", kv_blocks))
        kv = budget.to_dict()
        if eng is ServingEngine.VLLM:
            run_vllm(run, VllmConfig(seqs, tokens, bs, budget.blocks, bool(prefix_caching), thr,
                                        bool(decode_windows)))
            config.update(prefix_caching=bool(prefix_caching), long_prefill_token_threshold=thr)
        else:
            run_static(run, StaticConfig(seqs, tokens, bs, budget.blocks))
    if run.emitted != int(wl.output.sum()):
        raise SimlowError(f"internal: {run.emitted} tokens emitted for {int(wl.output.sum())} requested")
    arr = wl.kind.value if wl.kind is not Arrivals.CLOSED else f"closed ({wl.concurrency} clients)"
    return build_result(run, req, eng.value, arr, kv, config, slo_ttft, slo_tpot, tuple(notes),
                        energy.matmul_format(temps, mach))
