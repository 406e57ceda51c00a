"""Offload over a host link: partial layer offload and the MoE expert cache.

``Offload(device_layers=n, host="auto" | "cpu" | "stream")`` is llama.cpp's partial offload
(``-ngl n``): the *last* n layers sit in device memory (llama.cpp offloads from the end),
the first ``layers - n`` in host memory, and the host layers run

* ``host="cpu"``: on the device's CPU engine from host memory, KV cache included; the
  hidden state crosses the link where the placement changes;
* ``host="stream"``: on the GPU, their weights streamed over the link every step (the KV
  cache stays in device memory);
* ``host="auto"`` (the default): as llama.cpp does it, step by step. ggml's scheduler asks
  the GPU backend to take an op whose weights live in host memory, and ggml-cuda accepts
  when the op's batch is at least 32 tokens (``ggml_backend_cuda_device_offload_op``:
  ``get_op_batch_size(op) >= min_batch_size``, 32 by default, ``GGML_OP_OFFLOAD_MIN_BATCH``;
  ``get_op_batch_size`` of a ``MUL_MAT`` is ``ne[1]``, the micro-batch's tokens). So a
  prefill micro-batch of >= ``OFFLOAD_MIN_BATCH`` tokens (all sequences together) streams
  the host layers' weights to the GPU, and a smaller step (decode below 32 sequences, a
  short last micro-batch) runs them on the CPU. The host layers' KV cache is sized in host
  memory, as llama.cpp keeps it; a streamed step reads it as device memory (the model
  streams weights only).

``Offload(expert_cache=ExpertCacheSpec(...))`` keeps every MoE expert in host memory and a
cache of ``fraction`` of them in device memory (policies in ``cache``; copies and the async
ring in ``expert_phase``); everything else stays on the device. Expert draws are seeded
(``seed``) from the request's routing distribution. Steps are sequential here (prefetch
0), so a step's time is the sum of its parts: the non-expert part is simulated (folded)
at a few contexts like a normal decode, and each distinct expert-phase state (resident and
missing experts with their token counts) is simulated once and reused.

Fit: with offload, ``fits`` asks whether the *device* part (device-resident weights, the
expert cache slots, the KV cache and the compute buffer) fits in device memory.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simlow.errors import SimlowError
from simlow.memory import footprint
from simlow.sim.des import experts as draws
from simlow.sim.des.cache import expert_cache
from simlow.sim.des.clock import ps
from simlow.sim.des.expert_phase import ExpertCost, simulate_phase
from simlow.sim.des.plan import Setup, Where, device_setup, step_blocks
from simlow.sim.des.predict import PhaseRun, _names, _vector, assemble, run_decode, run_prefill, TOL_PS_PER_OP
from simlow.sim.des.series import affine_sum
from simlow.sim.des.step import FOLD, simulate_step
from simlow.sim.des.work import Place
from simlow.sim.machine import machine
from simlow.sim.offload_spec import OFFLOAD_MIN_BATCH, HostMode, Offload
from simlow.sim.roofline import op_terms
from simlow.specs.hardware import EngineKind
from simlow.specs.scheme import tensor_formats


def _link(hw):
    link = hw.host_link()
    if link is None:
        raise SimlowError(f"{hw.name} has no host link to offload over (its memories: "
                          f"{', '.join(m.name for m in hw.memories)}); unified-memory devices do not offload")
    host = link.between[1] if link.between[0] == hw.main_memory.name else link.between[0]
    return link, host


def _setup(req, off: Offload, background, mode: HostMode) -> Setup:
    """The setup with host layers run in ``mode`` (CPU or STREAM)."""
    link, host = _link(req.hw)
    dev_mem = req.engine.memory
    n = req.model.layers if off.device_layers is None else off.device_layers
    if not 0 <= n <= req.model.layers:
        raise SimlowError(f"device_layers must be in [0, {req.model.layers}], got {n}")
    places = {}
    if mode is HostMode.STREAM:
        places[Where.HOST] = Place(req.engine.name, machine(req.hw, req.stack, req.engine), dev_mem,
                               weight_path=(host, link.name))
    elif n < req.model.layers:
        cpu = next((e for e in req.hw.engines if e.kind is EngineKind.CPU), None)
        if cpu is None:
            raise SimlowError(f"{req.hw.name} lists no cpu engine to run host layers on; use host='stream'")
        places[Where.HOST] = Place(cpu.name, machine(req.hw, req.stack, cpu), host)
    layer_place = (Where.HOST,) * (req.model.layers - n) + (Where.DEVICE,) * n
    return device_setup(req, 0, tuple(background), places, layer_place, (dev_mem, link.name, host))


def _device_fit(req, off: Offload, cache_slots: int, expert_bytes: float):
    fp = footprint(req.model, req.hw, req.scheme, req.ctx, req.batch)
    n = req.model.layers if off.device_layers is None else off.device_layers
    host_layers = set(range(req.model.layers - n))
    host_w = 0.0
    for t, _, nbytes in tensor_formats(req.model, req.scheme):
        if t.layer in host_layers or (off.expert_cache is not None and "_exps" in t.name):
            host_w += nbytes
    host_kv = fp.kv_cache_bytes * len(host_layers) / req.model.layers if off.host is not HostMode.STREAM else 0.0
    device = fp.total_bytes - host_w - host_kv + cache_slots * expert_bytes
    extra = {"device_bytes": device, "host_bytes": host_w + host_kv, "fits": device <= fp.usable_bytes,
             "shortfall_bytes": max(0.0, device - fp.usable_bytes), "expert_cache_slots": cache_slots}
    return fp, extra


def predict_offload(req, off: Offload, prefetch: int, background, fold=FOLD):
    if prefetch:
        raise SimlowError("offload runs with prefetch depth 0 (its steps are summed part by part)")
    if off.expert_cache is None or req.model.moe is None:
        if off.expert_cache is not None:
            raise SimlowError(f"{req.model.name} has no MoE experts to cache")
        setups = {mode: _setup(req, off, background, mode) for mode in (HostMode.CPU, HostMode.STREAM)
                  if off.host in (mode, HostMode.AUTO)}
        dec_setup = setups[off.host.for_step(req.batch)]
        fp, extra = _device_fit(req, off, 0, 0.0)
        pre = run_prefill(next(iter(setups.values())), fold, lambda tokens: setups[off.host.for_step(tokens)])
        return assemble(dec_setup, pre, run_decode(dec_setup, fold), (_layer_note(req, off),), fp, extra)
    return _predict_expert_cache(req, off, _setup(req, off, background, off.host.for_step(req.batch)), fold)


def _layer_note(req, off: Offload) -> str:
    n = req.model.layers - (off.device_layers if off.device_layers is not None else req.model.layers)
    if off.host is not HostMode.AUTO:
        return f"offload: {n} layers on the host ({off.host.value})"
    link = req.hw.host_link()
    return (f"offload: {n} layers on the host (auto, as llama.cpp: steps of >= {OFFLOAD_MIN_BATCH} tokens stream "
            f"their weights to the {req.engine.name} over {link.kind}, smaller steps run them on the cpu; "
            f"decode at batch {req.batch}: {off.host.for_step(req.batch).value})")


def _expert_cost(setup: Setup, group: int) -> ExpertCost:
    req = setup.req
    temps = [t for t in setup.temps if t.group == group and t.expert]
    mach = setup.places[Where.DEVICE].machine
    k = req.model.moe.top_k
    one = {"one": 1.0, "tokens": 1.0, "seqs": 1.0, "pairs": 0.0, "cached": 0.0, "experts": 1.0}
    w = sum(t.value("weight_read", one) for t in temps)
    act = sum(t.value(q, one) for t in temps for q in ("act_read", "act_write")) / k
    comp = sum(float(op_terms(t, one, mach)[2]) for t in temps) / k
    launch = ps(sum(t.kernels for t in temps) * float(mach.kernel_overhead_s))
    return ExpertCost(f"layers{group}.experts_cached", w, act, comp, mach.bandwidth_eff["matmul"], launch,
                      req.engine.memory, tuple(reversed(setup.link_path)))


def _predict_expert_cache(req, off: Offload, setup: Setup, fold):
    spec, moe = off.expert_cache, req.model.moe
    dev = setup.places[Where.DEVICE]
    streamed = Place(dev.engine, dev.machine, dev.memory, weight_path=tuple(reversed(setup.link_path[1:])))
    setup = dataclasses.replace(setup, places={**setup.places, Where.EXPERTS: streamed}, expert_place=Where.EXPERTS)
    moe_layers = tuple(i for i in range(req.model.layers) if req.model.is_moe_layer(i))
    pi = req.routing.inclusion(moe.experts, moe.top_k)
    slots = int(round(spec.fraction * moe.experts * len(moe_layers)))
    cache = expert_cache(spec.policy, slots, pi, moe_layers)
    rng = np.random.default_rng(spec.seed)
    costs = {g: _expert_cost(setup, g) for g in {setup.sequence[i] for i in moe_layers}}
    names = _names(setup) + tuple(c.name for c in costs.values())
    res = tuple(setup.fab.capacities_Bps)
    memo: dict[tuple, np.ndarray] = {}
    phase_rows = np.zeros((req.gen, len(names) * 4 + 1 + len(res)))
    for s in range(req.gen):
        for i in moe_layers:
            routed = draws.routed(draws.draw(rng, pi, moe.top_k, req.batch))
            hits = cache.access(i, routed)
            key = (setup.sequence[i], tuple(sorted(((n, h) for n, h in zip(routed.values(), hits)), key=lambda x: not x[1])))
            if key not in memo:
                memo[key] = _vector(simulate_phase(costs[key[0]], key[1], spec.ring, setup.fab), names, res)
            phase_rows[s] += memo[key]
    base = _base_decode(setup, names, res, fold)
    dec = PhaseRun(base.rows + phase_rows, names, res, base.simulated + len(memo))
    fp, extra = _device_fit(req, off, slots, costs[setup.sequence[moe_layers[0]]].weight_bytes)
    extra.update(expert_hits=cache.stats.hits, expert_misses=cache.stats.misses)
    hit_rate = cache.stats.hits / max(1, cache.stats.hits + cache.stats.misses)
    note = (f"expert cache {spec.policy}, {slots} slots ({spec.fraction:.0%} of experts), ring {spec.ring}: "
            f"hit rate {hit_rate:.3f} over {req.gen} decode steps (seed {spec.seed}); prefill streams the experts it "
            "touches over the link and leaves the cache cold")
    return assemble(setup, run_prefill(setup, fold), dec, (note,), fp, extra)


def _base_decode(setup: Setup, names, res, fold) -> PhaseRun:
    """Decode steps without the expert kernels (they come from the cache's phases)."""
    req = setup.req
    instances = sum(t.repeat for t in setup.temps)
    drop = {t.name for t in setup.temps if t.expert}
    temps = tuple(t for t in setup.temps if t.name not in drop)
    lean = dataclasses.replace(setup, temps=temps, prefetch=0)
    distinct = float(req.routing.distinct(req.batch, req.model.moe.experts, req.model.moe.top_k))

    def at(L: int) -> np.ndarray:
        return _vector(simulate_step(step_blocks(lean, req.batch, 1, L, distinct), lean.fab, 0, lean.tail_ps, fold),
                       names, res)

    start = req.depth + req.prompt
    rows, n = affine_sum(at, start, start + req.gen - 1, TOL_PS_PER_OP * instances)
    return PhaseRun(rows, names, res, n)
