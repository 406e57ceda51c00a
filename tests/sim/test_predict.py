"""predict and the roofline: hand checks, properties, bad input, validation plumbing."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import simlow.sim as sim
from simlow.errors import SimlowError
from simlow.workload.graph import build_graph
from simlow.workload.op import Phase
from simlow.workload.templates import templates
from simlow.sim import roofline
from simlow.sim.machine import machine, pick_engine
from simlow.sim.stack_load import load_stack, stack_names
from simlow.validation.validate import default_data_dir, mapped_rows, summarize
from simlow.specs import load_hw, load_model, load_scheme
from simlow.specs.scheme import weight_bytes
from simlow.specs.tensors import weight_tensors


def test_memory_bound_decode_is_no_faster_than_weight_bytes_over_bandwidth():
    hw = load_hw("h100-sxm")
    m, s = load_model("llama-2-7b"), load_scheme("q4_0")
    p = sim.predict(m, hw, "q4_0", prompt=0, gen=16, stack="ideal")
    per_token = 1 / p.decode_tok_s
    # every weight but the embedding table is read once per token (plus KV and activations)
    emb = s.tensor_format(m, weight_tensors(m)[0])
    floor = (weight_bytes(m, s) - emb.tensor_bytes(m.vocab_size, m.hidden_size)) / hw.main_memory.bandwidth_Bps
    assert per_token >= floor
    assert per_token < floor * 1.05          # and the ideal stack adds only KV/activation bytes
    assert p.bound["decode"] == "memory"


def test_ideal_prefill_is_compute_bound_at_peak():
    hw = load_hw("h100-sxm")
    p = sim.predict("llama-2-7b", hw, "f16", prompt=4096, gen=0, stack="ideal", ubatch=4096)
    g = build_graph(load_model("llama-2-7b"), load_scheme("f16"), Phase(1, 4096, 0))
    assert p.prefill_s >= g.flops_by_format()["fp16"] / hw.primary.peak("fp16")
    assert p.bound["prefill"] == "compute"


def test_timeline_sums_to_phase_times():
    p = sim.predict("llama-2-7b", "rtx-4090", "q4_0", prompt=300, gen=20)
    pre = sum(e.duration_s for e in p.timeline if e.phase == "prefill")
    dec = sum(e.duration_s for e in p.timeline if e.phase == "decode")
    assert pre == pytest.approx(p.prefill_s, rel=1e-9)
    assert dec == pytest.approx(p.decode_s, rel=1e-9)  # step overhead is 0 in every shipped stack
    json.dumps(p.to_dict())


_HW = ("h100-sxm", "rtx-4090", "rtx-3090")


@settings(max_examples=25, deadline=None)
@given(hw=st.sampled_from(_HW), batch=st.integers(1, 32), prompt=st.integers(0, 2048), gen=st.integers(1, 64),
       stack=st.sampled_from(("ideal", "llama.cpp-cuda")))
def test_doubling_bandwidth_never_slows_a_prediction(hw, batch, prompt, gen, stack):
    base = load_hw(hw)
    mems = tuple(dataclasses.replace(mm, bandwidth_Bps=2 * mm.bandwidth_Bps) for mm in base.memories)
    fast = dataclasses.replace(base, memories=mems)
    a = sim.predict("llama-2-7b", base, "q4_0", batch=batch, prompt=prompt, gen=gen, stack=stack)
    b = sim.predict("llama-2-7b", fast, "q4_0", batch=batch, prompt=prompt, gen=gen, stack=stack)
    assert b.decode_s <= a.decode_s and b.prefill_s <= a.prefill_s


@settings(max_examples=10, deadline=None)
@given(batch=st.integers(1, 8), prompt=st.integers(0, 600), gen=st.integers(1, 40))
def test_same_input_same_output(batch, prompt, gen):
    a = sim.predict("qwen3-30b-a3b", "h100-sxm", "q4_k_m", batch=batch, prompt=prompt, gen=gen)
    b = sim.predict("qwen3-30b-a3b", "h100-sxm", "q4_k_m", batch=batch, prompt=prompt, gen=gen)
    assert a.to_dict() == b.to_dict()


@settings(max_examples=20, deadline=None)
@given(b=st.integers(1, 16), n=st.integers(1, 1024), L=st.integers(0, 3000))
def test_roofline_bytes_equal_graph_bytes(b, n, L):
    """The roofline moves exactly the bytes (and does exactly the flops) the graph lists."""
    m, s = load_model("llama-2-7b"), load_scheme("q4_k_m")
    hw = load_hw("h100-sxm")
    st_ = load_stack("ideal")
    temps, _ = templates(m, s)
    t = roofline.step(temps, machine(hw, st_, pick_engine(hw, st_)), b, n, L)
    g = build_graph(m, s, Phase(b, n, L))
    by = sum(g.total(q) for q in ("weight_read", "kv_read", "kv_write", "act_read", "act_write"))
    assert float(t.bytes) == pytest.approx(by, rel=1e-12)
    assert float(t.flops) == pytest.approx(g.total("flops"), rel=1e-12)


def test_moe_batch_touches_more_experts_and_costs_more_bytes():
    one = sim.predict("qwen3-30b-a3b", "h100-sxm", "q4_k_m", batch=1, prompt=0, gen=4, stack="ideal")
    eight = sim.predict("qwen3-30b-a3b", "h100-sxm", "q4_k_m", batch=8, prompt=0, gen=4, stack="ideal")
    # 8 sequences touch ~52 of 128 experts per layer instead of 8: more time per step
    assert eight.decode_s > one.decode_s * 2
    assert eight.decode_tok_s > one.decode_tok_s


def test_a_model_that_does_not_fit_is_a_result():
    p = sim.predict("llama-3-70b", "rtx-4090", "q4_0", prompt=128, gen=8)
    assert p.fits is False and p.shortfall_bytes > 10e9
    assert any("does not fit" in n for n in p.notes)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch=0), "batch"),
    (dict(prompt=-1), "prompt"),
    (dict(prompt=0, gen=0), "nothing"),
    (dict(prompt=4000, gen=200), "exceeds"),
    (dict(ctx=100), "shorter"),
    (dict(scheme="gptq-w4g128"), "cannot run"),
    (dict(stack="no-such-stack"), "unknown stack"),
    (dict(fidelity="exact"), "fidelity"),
    (dict(scheme="kv-q8_0"), "KV-cache"),
])
def test_bad_input(kwargs, match):
    args = dict(batch=1, prompt=512, gen=128, stack="llama.cpp-cuda")
    args.update(kwargs)
    with pytest.raises(SimlowError, match=match):
        sim.predict("llama-2-7b", "rtx-4090", **args)


def test_des_fidelity_dispatches_to_the_des():
    p = sim.predict("llama-2-7b", "rtx-4090", "q4_0", prompt=16, gen=4, fidelity="des")
    assert p.fidelity == "des" and p.decode_tok_s > 0


def test_every_shipped_stack_loads():
    for name in stack_names():
        s = load_stack(name)
        assert s.calibration and 0 < s.bandwidth["matmul"] <= 1


def test_vectorized_sweep_matches_single_points():
    m, s = load_model("llama-2-7b"), load_scheme("q4_0")
    hw, st_ = load_hw("rtx-4090"), load_stack("llama.cpp-cuda")
    temps, _ = templates(m, s)
    base = machine(hw, st_, pick_engine(hw, st_))
    bw = np.array([0.5e12, 1e12, 2e12])
    swept = dataclasses.replace(base, bandwidth_Bps=bw)
    t = roofline.step(temps, swept, 1, 1, 100).total_s
    for i, b in enumerate(bw):
        one = roofline.step(temps, dataclasses.replace(base, bandwidth_Bps=b), 1, 1, 100).total_s
        assert float(t[i]) == pytest.approx(float(one), rel=1e-12)


def test_validation_data_present_and_mapped():
    data = default_data_dir()
    assert data.is_dir(), f"shipped validation data missing at {data}"
    ok, bad = mapped_rows(data)
    assert ok, "no validation row could be mapped"
    assert all(isinstance(why, str) and why for _, _, why in bad)
    s = summarize([0.1, -0.2, 0.05])
    assert s.median_abs == pytest.approx(0.1) and s.n == 3
