"""Serving simulation: hand-checkable cases against simlow.predict and by hand.

One request alone must cost exactly what ``simlow.predict`` says for the same prompt and
generation (the step cost is the op graph's roofline, nothing else); the KV block count is
checked against the arithmetic written out; scheduling properties (no queueing below
capacity, preemption, prefix caching, token conservation, determinism) on small runs.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from simlow.errors import SimlowError
from simlow.serving import simulate_serving
from simlow.serving.kv import LayerGroups, kv_budget, layer_groups
from simlow.sim.host import ServingHost
from simlow.sim.predict import predict, resolve
from simlow.specs import load_hw, load_model, load_scheme
from simlow.specs.scheme import weight_bytes

M, HW = "llama-2-7b", "h100-sxm"


NO_HOST = ServingHost(0.0, 0.0, "none: the forward passes alone, as simlow predict times them")


def _one(engine="vllm", prompt=300, out=40, **kw):
    kw.setdefault("host", NO_HOST)
    return simulate_serving(M, HW, engine=engine, arrivals="constant", rate=1.0, requests=1,
                            prompt_len=prompt, output_len=out, **kw)


def test_one_request_alone_equals_predict():
    r = _one()
    pre = predict(M, HW, "f16", prompt=300, gen=39, stack="vllm", ubatch=300)
    assert r.ttft_s.mean == pytest.approx(pre.prefill_s, rel=1e-12)
    assert r.tpot_s.mean == pytest.approx(pre.decode_s / 39, rel=1e-12)
    assert r.e2e_s.mean == pytest.approx(pre.prefill_s + pre.decode_s, rel=1e-12)
    assert r.steps == 40 and r.computed_tokens == 300 + 39


def test_one_request_alone_costs_the_energy_predict_says():
    # energy from the steps' own ops and bytes, priced as predict prices its two phases
    r = _one()
    pre = predict(M, HW, "f16", prompt=300, gen=39, stack="vllm", ubatch=300)
    assert r.energy_j == pytest.approx(pre.energy["prefill_j"] + pre.energy["decode_j"], rel=1e-9)
    assert r.energy_j_per_output_token == pytest.approx(r.energy_j / 40, rel=1e-12)


def test_llamacpp_slots_one_request_equals_predict():
    # 1,200 prompt tokens run as ubatches of 512, exactly as predict's prefill micro-batches
    r = simulate_serving(M, "rtx-4090", engine="llama.cpp-server", arrivals="constant", rate=1.0,
                         requests=1, prompt_len=1200, output_len=17)
    pre = predict(M, "rtx-4090", prompt=1200, gen=16)
    assert r.stack == pre.stack
    assert r.ttft_s.mean == pytest.approx(pre.prefill_s, rel=1e-12)
    assert r.tpot_s.mean == pytest.approx(pre.decode_s / 16, rel=1e-12)


def test_static_one_request_equals_vllm_on_the_same_stack():
    a, b = _one("static", stack="vllm"), _one("vllm")
    assert a.ttft_s.mean == pytest.approx(b.ttft_s.mean, rel=1e-12)
    assert a.e2e_s.mean == pytest.approx(b.e2e_s.mean, rel=1e-12)


def test_kv_blocks_by_hand():
    m, hw, s = load_model(M), load_hw(HW), load_scheme("f16")
    req = resolve(M, HW, "f16", stack="vllm")
    b = kv_budget(m, hw, s, req.engine, 16, 0.9, 8192, 1024)
    block = 16 * 32 * 2 * 32 * 128 * 2                        # tokens x layers x (K,V) x heads x dim x fp16
    act = 8192 * (3 * 4096 + 2 * 11008 + 4096 + 2 * 4096) * 2 + 1024 * 32000 * 4
    total = 81559 * 2**20 * (79.22 * 1024 / 81559)            # nvidia-smi's total x vLLM's share of it
    avail = 0.9 * total - weight_bytes(m, s) - act - int(0.16 * 2**30)
    assert b.block_bytes == block == 8_388_608
    assert b.blocks == int(avail // block)
    fp8 = kv_budget(m, hw, s.with_kv(load_scheme("kv-fp8")), req.engine, 16, 0.9, 8192, 1024)
    assert fp8.block_bytes == block // 2 and fp8.blocks == int(avail // (block // 2))
    assert kv_budget(m, hw, s, req.engine, kv_blocks=77).blocks == 77
    assert (b.group_layers, b.full_groups, b.sliding_groups, b.engine_blocks) == (32, 1, 0, b.blocks)


def test_hybrid_allocator_groups_by_hand():
    # gpt-oss-20b: 24 layers alternating sliding (window 128) and full attention -> two groups of
    # 12 layers; the pool's blocks are 12-layer pages, one per group per 16 tokens
    m, hw, s = load_model("gpt-oss-20b"), load_hw(HW), load_scheme("mxfp4")
    req = resolve("gpt-oss-20b", HW, "mxfp4", stack="vllm")
    g = layer_groups(m)
    assert (g.size, g.full, g.sliding) == (12, 1, 1)
    b = kv_budget(m, hw, s, req.engine, 16, 0.9, 8192, 1024)
    page = 16 * 12 * m.kv_token_bytes(s.kv_cache)
    assert b.block_bytes == page and b.engine_blocks == int(b.available_bytes // page) == b.blocks
    # sized as full attention (all 24 layers per block), the pool would hold half as many blocks
    assert b.blocks // 2 == int(b.available_bytes // (2 * page))


def test_layer_groups_of_uneven_types():
    from dataclasses import replace
    from simlow.specs.model import SlidingWindow
    m = load_model(M)                                     # 32 layers
    assert layer_groups(m) == LayerGroups(32, 1, 0)
    every4 = replace(m, sliding_window=SlidingWindow(512, 4))        # 24 sliding, 8 full
    assert layer_groups(every4) == LayerGroups(8, 1, 3)
    all_windowed = replace(m, sliding_window=SlidingWindow(512, 0))
    assert layer_groups(all_windowed) == LayerGroups(32, 1, 0)


def test_result_reports_the_vllm_block_count():
    r = _one()
    assert r.kv["blocks"] > 5000 and not r.kv["overridden"]


def test_constant_arrivals_far_below_capacity_never_queue():
    alone = _one(prompt=256, out=32)
    r = simulate_serving(M, HW, arrivals="constant", rate=1.0, requests=20, prompt_len=256, output_len=32,
                         host=NO_HOST)
    pr = r.per_request
    assert np.allclose(pr["ttft_s"], alone.ttft_s.mean, rtol=1e-12)
    assert np.allclose(pr["e2e_s"], alone.e2e_s.mean, rtol=1e-12)
    assert r.throughput_requests_per_s == pytest.approx(20 / (19 + alone.e2e_s.mean))


def test_constant_arrivals_below_capacity_wait_at_most_one_step():
    r = simulate_serving(M, HW, arrivals="constant", rate=20.0, requests=200, prompt_len=256, output_len=64)
    assert r.ttft_s.max <= 2 * r.step_s.max       # waits out the running step, prefilled in the next
    assert r.preemptions == 0


def test_preemption_when_blocks_are_few_and_everything_completes():
    r = simulate_serving(M, HW, arrivals="constant", rate=1000.0, requests=24, prompt_len=200, output_len=120,
                         kv_blocks=60)
    assert r.preemptions > 0
    assert r.output_tokens == 24 * 120 and r.itl_s.n == 24 * 119 and r.ttft_s.n == 24
    assert r.computed_tokens > 24 * (200 + 119)    # recomputed after preemption
    assert np.all(np.isfinite(r.per_request["e2e_s"]))
    assert max(r.series["kv_occupancy"]) <= 1.0


def test_weights_larger_than_the_device_is_a_clear_answer():
    with pytest.raises(SimlowError, match="does not fit: llama-2-70b .* the weights alone exceed the memory"):
        simulate_serving("llama-2-70b", "rtx-4090", rate=1.0, requests=2)


def test_a_request_larger_than_the_cache_is_a_clear_error():
    with pytest.raises(SimlowError, match="needs 32 KV blocks .* the cache has 10"):
        _one(prompt=400, out=100, kv_blocks=10)


def _trace(tmp_path, n=30, shared=True):
    p = tmp_path / "t.jsonl"
    rows = [{"arrival_s": 0.05 * i, "prompt_len": 600, "output_len": 20,
             **({"prefix_id": "sys", "prefix_len": 512} if shared else {})} for i in range(n)]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return p


def test_prefix_caching_reduces_prefill_tokens(tmp_path):
    t = _trace(tmp_path)
    on = simulate_serving(M, HW, trace=t)
    off = simulate_serving(M, HW, trace=t, prefix_caching=False)
    assert off.computed_tokens == 30 * (600 + 19) and off.prefix_hit_tokens == 0
    assert on.prefix_hit_tokens == 29 * 512           # every request after the first hits 32 blocks
    assert on.computed_tokens == off.computed_tokens - 29 * 512
    assert on.ttft_s.mean < off.ttft_s.mean
    private = simulate_serving(M, HW, trace=_trace(tmp_path, shared=False))
    assert private.prefix_hit_tokens == 0


def test_same_seed_same_result_other_seed_other_result():
    kw = dict(arrivals="poisson", rate=15.0, requests=150, prompt_len=400, output_len=50)
    a, b = simulate_serving(M, HW, seed=3, **kw), simulate_serving(M, HW, seed=3, **kw)
    c = simulate_serving(M, HW, seed=4, **kw)
    assert a.to_dict(per_request=True) == b.to_dict(per_request=True)
    assert a.to_dict() != c.to_dict()


@pytest.mark.parametrize("kw", [dict(arrivals="poisson", rate=30.0), dict(arrivals="gamma", rate=30.0, cv=3.0),
                                dict(concurrency=16), dict(arrivals="constant", rate=200.0, kv_blocks=400)])
def test_decode_windows_equal_single_steps(kw):
    base = dict(requests=120, prompt_len=300, output_len=60, seed=1, **kw)
    fast = simulate_serving(M, HW, **base).to_dict(per_request=True)
    slow = simulate_serving(M, HW, decode_windows=False, **base).to_dict(per_request=True)
    _same(fast, slow)      # same schedule; times equal to rounding (sums taken in another order)


def _same(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and a and isinstance(a[0], float):
        assert np.allclose(a, b, rtol=1e-9, atol=0), path
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9), path
    else:
        assert a == b, path


@pytest.mark.parametrize("engine", ["vllm", "static", "llama.cpp-server"])
def test_every_output_token_exactly_once(engine):
    r = simulate_serving(M, "rtx-4090" if engine == "llama.cpp-server" else HW, engine=engine,
                         arrivals="gamma", cv=2.0, rate=8.0, requests=60, prompt_len=128, output_len=33, seed=2)
    assert r.output_tokens == 60 * 33
    assert r.ttft_s.n == 60 and r.tpot_s.n == 60 and r.itl_s.n == 60 * 32
    assert r.energy_j > 0 and r.energy_j_per_output_token == pytest.approx(r.energy_j / (60 * 33))


def test_closed_loop_keeps_at_most_concurrency_in_flight():
    r = simulate_serving(M, HW, concurrency=8, requests=100, prompt_len=200, output_len=30)
    a, f = r.per_request["arrival_s"], r.per_request["finish_s"]
    for t in np.concatenate((a, f)):
        assert np.sum((a <= t) & (f > t)) <= 8
    assert r.arrivals == "closed (8 clients)"


def test_static_batch_admits_nobody_until_the_batch_completes(tmp_path):
    t = tmp_path / "burst.jsonl"
    t.write_text("".join(json.dumps({"arrival_s": 0.0, "prompt_len": 100, "output_len": o}) + "\n"
                         for o in (50, 10, 30, 20, 5)))
    r = simulate_serving(M, HW, engine="static", trace=t, max_num_seqs=4)
    first, fin = r.per_request["ttft_s"] + r.per_request["arrival_s"], r.per_request["finish_s"]
    assert np.allclose(first[:4], first[0])                 # one context phase for the batch
    assert first[4] > fin[:4].max()                         # the fifth waits for the whole batch


def test_goodput_counts_requests_within_the_slo():
    r = simulate_serving(M, HW, arrivals="poisson", rate=40.0, requests=200, prompt_len=512, output_len=64,
                         slo_ttft=0.2, slo_tpot=0.05)
    pr = r.per_request
    tpot = (pr["e2e_s"] - pr["ttft_s"]) / 63
    ok = (pr["ttft_s"] <= 0.2) & (tpot <= 0.05)
    assert r.goodput_requests_per_s == pytest.approx(ok.sum() / r.duration_s)
    assert r.goodput_requests_per_s <= r.throughput_requests_per_s


def test_arrival_processes():
    from simlow.serving.arrivals import synthetic

    c = synthetic("constant", 100, 10, 10, rate=4.0)
    assert np.allclose(np.diff(c.arrival_s), 0.25) and c.arrival_s[0] == 0
    p = synthetic("poisson", 20000, 10, 10, rate=4.0, seed=0)
    assert np.diff(p.arrival_s).mean() == pytest.approx(0.25, rel=0.03)
    g = np.diff(synthetic("gamma", 20000, 10, 10, rate=4.0, seed=0, cv=3.0).arrival_s)
    assert g.mean() == pytest.approx(0.25, rel=0.05) and g.std() / g.mean() == pytest.approx(3.0, rel=0.1)


@pytest.mark.parametrize("kw, match", [
    (dict(engine="sglang"), "unknown serving engine 'sglang' .*vllm, static, llama.cpp-server"),
    (dict(rate=-1.0), "rate must be a number > 0"),
    (dict(arrivals="uniform", rate=1.0), "unknown arrivals 'uniform'"),
    (dict(rate=1.0, max_num_seqs=0), "max_num_seqs must be a whole number >= 1"),
    (dict(rate=1.0, prompt_len=5000), "exceeds llama-2-7b's maximum of 4096"),
    (dict(rate=1.0, slo_ttft=-2), "slo_ttft must be a time"),
    (dict(rate=1.0, gpu_memory_utilization=0.17), "does not fit: .* lower --max-batched-tokens"),
])
def test_bad_input(kw, match):
    with pytest.raises(SimlowError, match=match):
        simulate_serving(M, HW, requests=3, **kw)


@pytest.mark.parametrize("line, match", [
    ('{"arrival_s": 0, "prompt_len": 10}', "line 1: missing key 'output_len'"),
    ('{"arrival_s": 0, "prompt_len": 10, "output_len": 2.5}', "line 1: output_len must be a whole number"),
    ('{"arrival_s": 0, "prompt_len": 10, "output_len": 2, "colour": 1}', "line 1: unknown key 'colour'"),
    ('[1, 2]', "line 1: expected a JSON object"),
    ('{"arrival_s": 0, "prompt_len": 10, "output_len": 2, "prefix_id": "a"}', "prefix_id and prefix_len together"),
    ('{"arrival_s": 0, "prompt_len": 10, "output_len": 2, "prefix_id": "a", "prefix_len": 11}', "exceeds prompt_len"),
    ('not json', "line 1: not JSON"),
])
def test_bad_trace(tmp_path, line, match):
    p = tmp_path / "bad.jsonl"
    p.write_text(line + "\n")
    with pytest.raises(SimlowError, match=match) as e:
        simulate_serving(M, HW, trace=p)
    assert str(p) in str(e.value)


def test_every_measured_serving_row_is_simulated_or_said_why_not():
    from simlow.serving.validate import compare

    rep = compare()
    rows = rep.comparisons
    assert len({(c.file, c.line) for c in rows}) == 5 + 32 and len(rows) == 25 + 32 * 8 + 12
    assert all(np.isfinite(c.simulated) and c.simulated > 0 for c in rows)
    # every row runs: Qwen3-32B at 32,000 + 100 tokens fits the KV budget sized as vLLM sizes it
    assert rep.skipped == ()


def test_derived_e2e_only_where_every_request_generated_its_length():
    from simlow.serving.validate import derived_e2e_s

    row = {"ttft_mean_ms": "100", "tpot_mean_ms": "10", "output_len": "5", "requests": "2", "e2e_mean_ms": ""}
    assert derived_e2e_s(row | {"generated_tokens": "10"}) == pytest.approx((100 + 4 * 10) * 1e-3)
    assert derived_e2e_s(row | {"generated_tokens": "9"}) is None           # a request stopped early
    assert derived_e2e_s(row | {"generated_tokens": "10", "e2e_mean_ms": "1"}) is None   # measured: not derived


def test_validate_serving_cli_json(capsys):
    from simlow.cli import main

    assert main(["validate", "--serving", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    held, fit = d["summary"]["held-out"], d["summary"]["in-sample"]
    assert held["ttft_p50_ms"]["n"] == 16 + 5 and held["e2e_mean_ms (derived)"]["n"] == 6     # H100, RTX 4090
    assert fit["ttft_p50_ms"]["n"] == 16 and fit["e2e_mean_ms (derived)"]["n"] == 6           # A100: trained
    assert {c["split"] for c in d["comparisons"] if c["device"] == "a100-80gb-sxm"} == {"in-sample"}
    assert {c["split"] for c in d["comparisons"] if c["device"] != "a100-80gb-sxm"} == {"held-out"}
    assert d["skipped"] == []


def test_chunked_prefill_by_budget_and_long_prefill_threshold():
    r = _one(prompt=3000, out=10, max_batched_tokens=2048)
    assert r.steps == 2 + 9                          # 2048 + 952 prompt tokens, then 9 decodes
    t = _one(prompt=1000, out=10, long_prefill_token_threshold=128)
    assert t.steps == 8 + 9                          # ceil(1000 / 128) prefill chunks
    pre = predict(M, HW, "f16", prompt=1000, gen=9, stack="vllm", ubatch=128)
    assert t.ttft_s.mean == pytest.approx(pre.prefill_s, rel=1e-12)   # chunk i on 128 i cached tokens


def test_running_requests_never_exceed_max_num_seqs():
    r = simulate_serving(M, HW, arrivals="constant", rate=500.0, requests=80, prompt_len=64, output_len=40,
                         max_num_seqs=6)
    assert max(r.series["running"]) == 6 and max(r.series["step_requests"]) <= 6


def test_bench_workload_results_unchanged_to_the_bit():
    # `simlow bench serving`'s workload at 500 requests. The figures are this deterministic
    # code's own outputs, recorded on main at 9af12fe before the step path was optimized
    # for speed; any change to them means a change of behaviour, not of speed.
    # (without the stack's serving host time, fitted after that record was made)
    r = simulate_serving(M, HW, "f16", arrivals="poisson", rate=20.0, requests=500, prompt_len=512,
                         output_len=128, seed=0, host=NO_HOST)
    assert r.throughput_requests_per_s == 17.48629261739265
    assert r.ttft_s.mean == 0.032293049609407605
    assert r.steps == 2231


def test_host_time_adds_per_step_and_per_request_part():
    none = _one(prompt=300, out=5)
    some = _one(prompt=300, out=5, host=ServingHost(1e-3, 1e-4, "test"))
    assert none.steps == some.steps == 5                       # one prefill step, then 4 decodes
    # one request: every step pays 1 ms + 0.1 ms once
    assert some.e2e_s.mean - none.e2e_s.mean == pytest.approx(5 * 1.1e-3, rel=1e-9)
    assert some.ttft_s.mean - none.ttft_s.mean == pytest.approx(1.1e-3, rel=1e-9)


def test_vllm_stack_serving_block_says_what_it_was_fitted_on():
    from simlow.sim.stacks import GroupBy
    from simlow.sim.stack_load import load_stack

    host = load_stack("vllm").serving
    assert host.fitted_on.by is GroupBy.HW and host.fitted_on.train == {"a100-80gb-sxm"}
    assert "h100-sxm" in host.fitted_on.held_out and "fitted on" in host.calibration


def test_stack_serving_block_bad_input(tmp_path):
    from simlow.sim.stack_load import load_stack

    text = (Path(__file__).parents[2] / "workloads" / "stacks" / "vllm.yaml").read_text()
    bad = tmp_path / "vllm.yaml"
    bad.write_text(text.replace("part_overhead: 100 us", "part_overhead: -5 us"))
    with pytest.raises(SimlowError, match=r"serving\.part_overhead: .*non-negative"):
        load_stack(str(bad))
    bad.write_text(text.replace("part_overhead: 100 us", "part_overhead: 100 us\n  colour: 1"))
    with pytest.raises(SimlowError, match="colour"):
        load_stack(str(bad))
