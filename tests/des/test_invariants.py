"""DES invariants: roofline agreement and bound, bytes, determinism, monotonicity, folding."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings, strategies as st

from simlow.workload.graph import build_graph
from simlow.workload.op import Phase
from simlow.sim.des.plan import Where, device_setup, step_blocks
from simlow.sim.des.predict import predict_des
from simlow.sim.des.step import Background, simulate_step
from simlow.sim.predict import predict, resolve
from simlow.sim.roofline import op_terms
from simlow.sim.des.work import scalar_features

MODELS = ["llama-2-7b", "gemma-3-4b", "qwen3-30b-a3b"]
DEVICES = ["h100-sxm", "rtx-4090", "strix-halo", "m4-max"]

# Launch, compute and every flow completion round up to a whole picosecond: at most a few
# ps per op instance, i.e. a relative excess far below 1e-6 on millisecond steps.
REL_TOL = 1e-6
# The roofline is a float64 sum of float64 terms (relative error ~1e-15); the DES's times are
# exact integers. "Never faster" is checked up to the roofline's own float rounding.
FLOAT = 1e-12


def _distinct(req, tokens):
    moe = req.model.moe
    return None if moe is None else float(req.routing.distinct(tokens, moe.experts, moe.top_k))


def _step(req, context, prefetch=0, background=(), fold=3, trace=False, tokens=1):
    s = device_setup(req, prefetch, background)
    blocks = step_blocks(s, req.batch, tokens, context, _distinct(req, req.batch * tokens))
    return simulate_step(blocks, s.fab, prefetch, s.tail_ps, fold, trace)


@settings(max_examples=12, deadline=None)
@given(st.sampled_from(MODELS), st.sampled_from(DEVICES), st.integers(1, 4), st.integers(0, 600),
       st.integers(1, 300), st.sampled_from([None, "ideal"]))
def test_single_stream_agrees_with_roofline_and_is_never_faster(model, hw, batch, prompt, gen, stack):
    kw = dict(batch=batch, prompt=prompt, gen=gen, stack=stack)
    r = predict(model, hw, "q4_0", **kw)
    d = predict(model, hw, "q4_0", fidelity="des", **kw)
    assert d.fidelity == "des"
    assert d.decode_s >= r.decode_s * (1 - FLOAT) and d.prefill_s >= r.prefill_s * (1 - FLOAT)
    assert d.decode_s <= r.decode_s * (1 + REL_TOL)
    assert d.prefill_s <= r.prefill_s * (1 + REL_TOL)


@pytest.mark.parametrize("model", MODELS)
def test_bytes_moved_equal_graph_bytes(model):
    req = resolve(model, "h100-sxm", "q4_0", batch=2, prompt=0, gen=1)
    for phase in (Phase(2, 1, 300), Phase(2, 40, 0)):
        r = _step(req, phase.context, tokens=phase.tokens)
        g = build_graph(req.model, req.scheme, phase, req.routing)
        graph_bytes = sum(g.total(q) for q in ("weight_read", "kv_read", "kv_write", "act_read", "act_write"))
        assert float(r.moved["hbm"]) == pytest.approx(graph_bytes, rel=1e-12)


def test_same_input_same_trace():
    req = resolve("gemma-3-4b", "strix-halo", "q4_0", prompt=0, gen=1)
    bg = (Background(("lpddr5x",), 40e9),)
    a = _step(req, 900, prefetch=2, background=bg, fold=None, trace=True)
    b = _step(req, 900, prefetch=2, background=bg, fold=None, trace=True)
    assert a.trace and a.trace == b.trace and a == b


@pytest.mark.parametrize("prefetch,bg", [(0, 0.0), (1, 0.0), (2, 60e9), (3, 60e9)])
@pytest.mark.parametrize("model", ["llama-2-7b", "gemma-3-4b"])
def test_folding_is_exact(model, prefetch, bg):
    req = resolve(model, "strix-halo", "q4_0", prompt=0, gen=1)
    background = (Background(("lpddr5x",), bg),) if bg else ()
    folded = _step(req, 700, prefetch, background)
    full = _step(req, 700, prefetch, background, fold=None)
    assert (folded.time_ps, folded.ops, folded.moved) == (full.time_ps, full.ops, full.moved)


def _double_bandwidth(hw):
    mems = tuple(dataclasses.replace(m, bandwidth_Bps=2 * m.bandwidth_Bps) for m in hw.memories)
    return dataclasses.replace(hw, memories=mems)


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(MODELS), st.sampled_from(DEVICES), st.integers(0, 3), st.integers(1, 200))
def test_doubling_bandwidth_never_slows(model, hw, prefetch, gen):
    req = resolve(model, hw, "q4_0", prompt=64, gen=gen)
    fast = dataclasses.replace(req, hw=_double_bandwidth(req.hw))
    a, b = predict_des(req, prefetch=prefetch), predict_des(fast, prefetch=prefetch)
    assert b.decode_s <= a.decode_s and b.prefill_s <= a.prefill_s


@pytest.mark.parametrize("prefetch", [0, 1, 4])
def test_prefetch_never_beats_the_roofline_bound(prefetch):
    """With prefetch, ops overlap each other's loads, so the per-op roofline is no longer a
    bound; max(sum of compute + launch, sum of memory time) still is."""
    req = resolve("llama-2-7b", "strix-halo", "q4_0", prompt=0, gen=1)
    s = device_setup(req, prefetch)
    r = _step(req, 2000, prefetch)
    comp = mem = 0.0
    for t in s.temps:
        f = scalar_features(t, 1, 1, 2000, None)
        _, _, tc, tm = op_terms(t, f, s.places[Where.DEVICE].machine)
        comp += t.repeat * (tc + t.kernels * req.stack.kernel_overhead_s)
        mem += t.repeat * tm
    assert r.time_ps / 1e12 >= max(comp, mem) + req.stack.step_overhead_s


def test_background_traffic_slows_and_bound_stays_memory():
    req = resolve("llama-3-8b", "strix-halo", "q4_0", prompt=0, gen=64)
    alone = predict_des(req)
    busy = predict_des(req, background=(Background(("lpddr5x",), 64e9, "cpu copy"),))
    assert busy.decode_s > alone.decode_s
    assert busy.bound["decode"] == "memory"


def test_kv_cache_growth_slows_later_steps():
    req = resolve("llama-2-7b", "rtx-4090", "q4_0", prompt=0, gen=1)
    assert _step(req, 4000).time_ps > _step(req, 10).time_ps


def test_des_and_roofline_timelines_name_the_same_formats():
    """Both fidelities label each op with the format it runs in on the machine (the P40 has
    no fast fp16: llama.cpp computes its float work in fp32, and both timelines say so)."""
    kw = dict(scheme="q4_0", batch=1, prompt=64, gen=4)
    roof = predict("llama-2-7b", "p40", fidelity="roofline", **kw)
    des = predict("llama-2-7b", "p40", fidelity="des", **kw)
    fmt_roof = {(e.phase, e.op): e.format for e in roof.timeline}
    fmt_des = {(e.phase, e.op): e.format for e in des.timeline}
    shared = set(fmt_roof) & set(fmt_des)
    assert shared and {fmt_des[k] for k in shared} >= {"fp32"}
    assert {k: fmt_des[k] for k in shared} == {k: fmt_roof[k] for k in shared}
