"""Offload, expert cache, expert draws, unified-memory co-runs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simlow.specs import load_hw

from simlow.errors import SimlowError
from simlow.sim.des import experts
from simlow.sim.des.cache import expert_cache
from simlow.sim.des.expert_phase import simulate_phase
from simlow.sim.des.offload import _expert_cost
from simlow.sim.offload_spec import OFFLOAD_MIN_BATCH, ExpertCacheSpec, HostMode, Offload, offload_from
from simlow.sim.des.plan import device_setup
from simlow.sim.des.predict import predict_des
from simlow.sim.des.unified import Agent, corun
from simlow.sim.predict import resolve
from simlow.workload.routing import Uniform, Zipf
from simlow.sim.stack_load import load_stack
from simlow.specs.hardware import EngineKind


def test_draws_are_distinct_and_match_inclusion_and_expected_distinct():
    pi = Zipf(1.0).inclusion(64, 4)
    rng = np.random.default_rng(1)
    ids = experts.draw(rng, pi, 4, 4000)
    assert all(len(set(row)) == 4 for row in ids)
    freq = np.bincount(ids.ravel(), minlength=64) / 4000
    assert np.max(np.abs(freq - pi)) < 5 * np.sqrt(0.25 / 4000)     # binomial sd <= 0.5/sqrt(n)
    batches = [len(experts.routed(experts.draw(rng, pi, 4, 8))) for _ in range(1000)]
    expect = Zipf(1.0).distinct(8, 64, 4)
    assert abs(np.mean(batches) - expect) < 5 * np.std(batches) / np.sqrt(1000)


def test_draws_repeat_with_the_seed():
    pi = Uniform().inclusion(128, 8)
    a = experts.draw(np.random.default_rng(7), pi, 8, 50)
    b = experts.draw(np.random.default_rng(7), pi, 8, 50)
    assert (a == b).all()


def test_lru_lfu_static_by_hand():
    lru = expert_cache("lru", 2)
    assert lru.access(0, [1, 2]) == [False, False]
    assert lru.access(0, [1, 3]) == [True, False]       # evicts 2 (least recent)
    assert lru.access(0, [3, 2]) == [True, False]       # 2 evicts 1 (used before 3)
    assert lru.access(0, [1]) == [False]
    lfu = expert_cache("lfu", 2)
    lfu.access(0, [1, 1, 1, 2])                          # 1 three times, 2 once
    assert lfu.access(0, [3]) == [False]                 # evicts 2 (least frequent)
    assert lfu.access(0, [1, 2]) == [True, False]
    st = expert_cache("static", 2, np.array([0.1, 0.5, 0.3, 0.1]), layers=(0,))
    assert st.access(0, [1, 2, 0, 0]) == [True, True, False, False]   # fixed hottest set {1, 2}
    assert (st.stats.hits, st.stats.misses) == (2, 2)
    with pytest.raises(SimlowError, match="policy"):
        expert_cache("fifo", 2)


def _moe_req(gen=8, routing=None):
    return resolve("qwen3-30b-a3b", "rtx-4090", "q4_0", prompt=8, gen=gen, routing=routing or Zipf(1.0))


def test_async_ring_never_slower_than_synchronous_copies():
    req = _moe_req()
    setup = device_setup(req)
    cost = _expert_cost(dataclasses.replace(setup, link_path=("vram", "pcie", "host")), 0)
    for pattern in [((1, True),) * 5 + ((1, False),) * 3, ((2, False),) * 4 + ((1, True),) * 2]:
        sync = simulate_phase(cost, pattern, 0, setup.fab)
        ring = simulate_phase(cost, pattern, 8, setup.fab)
        assert ring.time_ps < sync.time_ps
        assert sync.moved["pcie"] == ring.moved["pcie"] == sum(1 for _, r in pattern if not r) * cost.weight_bytes


def test_expert_cache_hit_rates_and_speed_order():
    req = _moe_req(gen=16)
    full = predict_des(req)
    runs = {pol: predict_des(req, offload=Offload(expert_cache=ExpertCacheSpec(pol, 0.25, 0, seed=3)))
            for pol in ("lru", "static")}
    none = predict_des(req, offload=Offload(expert_cache=ExpertCacheSpec("lru", 0.0, 0, seed=3)))
    for p in runs.values():
        m = p.memory
        assert m["expert_hits"] + m["expert_misses"] > 0
        assert none.decode_s > p.decode_s > full.decode_s
        assert p.bound["decode"] == "link"
    assert none.memory["expert_hits"] == 0
    again = predict_des(req, offload=Offload(expert_cache=ExpertCacheSpec("lru", 0.25, 0, seed=3)))
    assert again == runs["lru"]


def test_partial_offload_more_device_layers_is_faster_and_fits_less_tightly():
    req = resolve("llama-3-70b", "rtx-4090", "q4_0", prompt=16, gen=8)
    preds = [predict_des(req, offload=Offload(n, "stream")) for n in (0, 20, 40)]
    times = [p.decode_s for p in preds]
    assert times[0] > times[1] > times[2]
    dev = [p.memory["device_bytes"] for p in preds]
    assert dev[0] < dev[1] < dev[2]
    assert all(p.bound["decode"] == "link" for p in preds)
    assert not predict_des(req).fits and preds[0].fits


def test_offload_errors():
    with pytest.raises(SimlowError, match="host link"):
        predict_des(resolve("llama-2-7b", "strix-halo", "q4_0", gen=1), offload=Offload(10, "stream"))
    hw = load_hw("rtx-4090")
    no_cpu = dataclasses.replace(hw, engines=tuple(e for e in hw.engines if e.kind is not EngineKind.CPU))
    with pytest.raises(SimlowError, match="cpu engine"):
        predict_des(resolve("llama-2-7b", no_cpu, "q4_0", gen=1), offload=Offload(10, "cpu"))
    with pytest.raises(SimlowError, match="device_layers"):
        predict_des(resolve("llama-2-7b", "rtx-4090", "q4_0", gen=1), offload=Offload(99, "stream"))
    with pytest.raises(SimlowError, match="policy"):
        ExpertCacheSpec("mru")


def test_unified_memory_corun_slows_each_agent_and_conserves_bytes():
    ideal = load_stack("ideal")
    cpu = dataclasses.replace(ideal, name="ideal-cpu", engine=EngineKind.CPU)
    gpu_req = resolve("llama-3-8b", "strix-halo", "q4_0", prompt=0, gen=2, stack=ideal)
    cpu_req = resolve("llama-2-7b", "strix-halo", "q8_0", prompt=0, gen=2, stack=cpu)
    r = corun([Agent(gpu_req, 2), Agent(cpu_req, 2)])
    for a in r.agents:
        assert a.slowdown > 1.0
    assert r.moved_together == r.moved_alone
    assert float(r.moved_together["lpddr5x"]) == pytest.approx(sum(a.nbytes for a in r.agents), rel=1e-12)
    (solo,) = corun([Agent(gpu_req, 2)]).agents
    assert solo.slowdown == 1.0
    with pytest.raises(SimlowError, match="distinct engines"):
        corun([Agent(gpu_req, 1), Agent(gpu_req, 1)])


# -- host="auto": llama.cpp's per-step choice (ggml-cuda offloads ops of >= 32 tokens) --------

def _modes(batch, prompt, gen, layers=16):
    req = resolve("llama-2-7b", "rtx-3060-12gb", "q4_0", batch=batch, prompt=prompt, gen=gen)
    return {h: predict_des(req, offload=Offload(layers, h)) for h in ("auto", "cpu", "stream")}


def test_auto_offload_prefills_streamed_and_decodes_on_the_cpu():
    p = _modes(1, 64, 4)
    assert p["auto"].prefill_tok_s == p["stream"].prefill_tok_s
    assert p["auto"].decode_tok_s == p["cpu"].decode_tok_s
    assert p["cpu"].prefill_tok_s != p["stream"].prefill_tok_s       # the modes differ at all
    assert p["cpu"].decode_tok_s != p["stream"].decode_tok_s
    assert p["auto"].bound == {"prefill": p["stream"].bound["prefill"], "decode": p["cpu"].bound["decode"]}
    # the host layers' KV cache lives in host memory, as with host=cpu
    assert p["auto"].memory["device_bytes"] == p["cpu"].memory["device_bytes"]
    assert p["auto"].memory["device_bytes"] < p["stream"].memory["device_bytes"]


@pytest.mark.parametrize("batch,prompt,mode", [
    (1, 31, "cpu"),        # 31 tokens: below ggml-cuda's 32, the host layers run on the CPU
    (1, 32, "stream"),     # 32 tokens: streamed to the GPU
    (2, 16, "stream"),     # the threshold counts the micro-batch's tokens over all sequences
])
def test_auto_prefill_follows_the_32_token_threshold(batch, prompt, mode):
    p = _modes(batch, prompt, 0)
    assert p["auto"].prefill_tok_s == p[mode].prefill_tok_s
    other = "stream" if mode == "cpu" else "cpu"
    assert p["auto"].prefill_tok_s != p[other].prefill_tok_s


def test_auto_decode_streams_from_32_sequences():
    p = _modes(32, 0, 2)
    assert p["auto"].decode_tok_s == p["stream"].decode_tok_s != p["cpu"].decode_tok_s


def test_host_mode_text_and_default():
    assert Offload(10) == Offload(10, "auto") == Offload(10, HostMode.AUTO)
    assert Offload(10, "cpu").host is HostMode.CPU
    assert offload_from("device_layers=20").host is HostMode.AUTO
    assert HostMode.AUTO.for_step(OFFLOAD_MIN_BATCH - 1) is HostMode.CPU
    assert HostMode.AUTO.for_step(OFFLOAD_MIN_BATCH) is HostMode.STREAM
    assert HostMode.CPU.for_step(4096) is HostMode.CPU and HostMode.STREAM.for_step(1) is HostMode.STREAM
    with pytest.raises(SimlowError, match="auto, cpu, stream"):
        Offload(10, "gpu")
