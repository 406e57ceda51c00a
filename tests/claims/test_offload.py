"""Offload bounds counted by hand on the toy specs (tests/claims/conftest.py).

toy-moe: 4 MoE layers of 16 experts (top-2), each expert 3 x 4096 x 2048 f16 weights;
toy-gpu: 10 GB/s host link, 100 GB/s device memory, 50 GB/s host memory.
"""

from __future__ import annotations

import math

import pytest

from simlow.claims import Outcome, check_claims
from simlow.claims import offload as O
from simlow.workload.routing import Zipf
from simlow.specs import load_model, load_scheme

ONE_EXPERT = 3 * 4096 * 2048 * 2           # one expert of one layer at f16
LINK = 10e9


def _moe_claim(specs, hw, claimed, offload, routing="", batch=1, metric="decode_tok_s"):
    extra = f"\n        routing: \"{routing}\"" if routing else ""
    return f"""\
    claims:
      - id: moe-offload
        source: test
        quote: "offload"
        metric: {metric}
        claimed: {claimed}
        model: {specs['toy-moe']}
        hw: {hw}
        scheme: f16
        workload: {{batch: {batch}, prompt: 64, gen: 16}}
        offload: {offload}{extra}
    """


def test_skewed_routing_raises_the_host_link_ceiling(claims_file, specs, small_gpu):
    # Zipf s=1 over 16 experts, top-2: pi_r = 2 (1/r) / H16 (no expert reaches 1, so no capping);
    # a 12.5% cache holds 2 experts per layer: the two hottest, expected misses 2 - pi_1 - pi_2.
    h16 = sum(1 / r for r in range(1, 17))
    misses = 2 - 2 * (1 + 1 / 2) / h16
    ceiling = LINK / (misses * ONE_EXPERT * 4)
    [v] = check_claims(claims_file(_moe_claim(specs, small_gpu, 1.0, "{experts: static, fraction: 0.125}", "zipf:1.0")))
    assert v.bound_name == "host link"
    assert v.bound == pytest.approx(ceiling, rel=1e-12)
    assert "routing zipf:1.0" in v.candidate
    assert any(f"serves at most {1 - misses / 2:.0%} of expert reads" in n for n in v.notes)
    assert v.simulated is not None and any("des" in n for n in v.notes)   # the DES gives simlow's value


def test_batch_needs_the_union_of_experts(claims_file, specs, small_gpu):
    # uniform, batch 2: each expert is needed with q = 1 - (7/8)^2 = 15/64; a 2-expert cache
    # hits 2 q per layer, the other 14 q cross the link each step, shared by 2 tokens.
    q = 1 - (7 / 8) ** 2
    ceiling = LINK / (14 * q * ONE_EXPERT * 4 / 2)
    [v] = check_claims(claims_file(_moe_claim(specs, small_gpu, 1.0, "{experts: lru, fraction: 0.125}", batch=2)))
    assert v.bound == pytest.approx(ceiling, rel=1e-12)


def test_zipf_needed_is_the_smallest_skew_that_reaches_the_hit_rate(specs):
    m, s = load_model(specs["toy-moe"]), load_scheme("f16")
    need = O.hit_rate_needed(m, s, 40.0, 1, LINK)
    assert need == pytest.approx(1 - LINK / (40.0 * 2 * ONE_EXPERT * 4), rel=1e-12)
    z = O.zipf_needed(m, s, 0.125, 1, need)
    assert O.expert_traffic(m, s, Zipf(z), 0.125, 1).hit_rate >= need
    assert O.expert_traffic(m, s, Zipf(z - 0.011), 0.125, 1).hit_rate < need
    assert O.zipf_needed(m, s, 0.0, 1, 0.5) is None          # an empty cache never hits


# toy-model (dense, 4 layers) at f16, per layer: attention + ffn weights + 2 norms.
LAYER = (2 * 4096 * 4096 + 2 * 1024 * 4096 + 3 * 8192 * 4096) * 2 + 2 * 4096 * 4
TAIL = 1024 * 4096 * 2 + 4096 * 4              # lm_head + final norm stay on the device
KV_LAYER = 2 * 1024 * 2 * (64 + 16 // 2)       # K and V, kv_dim 1024, f16, mean decode position


def _dense_claim(specs, offload):
    return f"""\
    claims:
      - id: layers
        source: test
        quote: "ngl"
        metric: decode_tok_s
        claimed: 1
        model: {specs['toy-model']}
        hw: {specs['toy-gpu']}
        scheme: f16
        workload: {{batch: 1, prompt: 64, gen: 16}}
        offload: {offload}
    """


def test_layers_on_the_host_cpu_add_host_memory_time_in_sequence(claims_file, specs):
    device = 2 * LAYER + TAIL + 2 * KV_LAYER
    host = 2 * LAYER + 2 * KV_LAYER
    ceiling = 1 / (device / 100e9 + host / 50e9)
    [v] = check_claims(claims_file(_dense_claim(specs, "{device_layers: 2, host: cpu}")))
    assert v.bound_name == "device + host memory"
    assert v.bound == pytest.approx(ceiling, rel=1e-12)
    # toy-gpu lists no cpu engine: the simulator refuses, the verdict says why
    assert v.outcome is Outcome.CANNOT_ANSWER and "no cpu engine" in v.sentence


def test_streamed_layers_cross_the_link(claims_file, specs):
    [v] = check_claims(claims_file(_dense_claim(specs, "{device_layers: 1, host: stream}")))
    assert v.bound_name == "host link"
    assert v.bound == pytest.approx(LINK / (3 * LAYER), rel=1e-12)
    assert v.simulated is not None and v.simulated <= v.bound * (1 + 1e-9)


def test_offload_on_unified_memory_cannot_answer(claims_file, specs):
    [v] = check_claims(claims_file(_moe_claim(specs, "m4-max", 1.0, "{experts: static, fraction: 0.1}")))
    assert v.outcome is Outcome.CANNOT_ANSWER and "no host link" in v.sentence


def test_at_most_claim_agrees_with_any_slower_value(claims_file, specs, small_gpu):
    body = _moe_claim(specs, small_gpu, 0.99, "{experts: static, fraction: 0.1}").replace(
        "        claimed: 0.99\n", "        claimed: 0.99\n        sense: at_most\n        baseline: {hw: "
        + specs["toy-gpu"] + ", offload: none}\n")
    [v] = check_claims(claims_file(body))
    assert v.relative and v.simulated is not None and v.simulated < 0.99
    assert v.outcome is Outcome.PLAUSIBLE and math.isclose(v.claimed_over_simulated, 1.0)
    assert "at most 0.99x" in v.sentence


def test_auto_layer_offload_decodes_like_host_cpu_below_32_sequences(claims_file, specs):
    """host: auto (the default) is llama.cpp's choice: decode steps of 1 token run the host
    layers on the CPU, so the ceiling is host=cpu's."""
    [cpu] = check_claims(claims_file(_dense_claim(specs, "{device_layers: 2, host: cpu}")))
    for offload in ("{device_layers: 2, host: auto}", "{device_layers: 2}"):
        [v] = check_claims(claims_file(_dense_claim(specs, offload)))
        assert (v.bound_name, v.bound) == (cpu.bound_name, cpu.bound)
