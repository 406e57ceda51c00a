"""Hand-worked hard bounds on toy specs whose bytes are counted by hand below."""

from __future__ import annotations

import pytest

from simlow.claims import Outcome, check_claims

# toy-model at f16, counted by hand (rows x cols x 2 bytes):
ATTN = 4 * (4096 * 4096 + 1024 * 4096 + 1024 * 4096 + 4096 * 4096) * 2   # q, k, v, o per layer
FFN = 4 * 3 * 8192 * 4096 * 2                                           # gate, up, down per layer
HEAD = 1024 * 4096 * 2                                                  # lm_head (embedding is a lookup)
NORMS = (4096 + 4 * 2 * 4096) * 4                                       # f32 norms
KV_PER_TOKEN = 4 * 2 * 1024 * 2                                         # layers x (K, V) x kv_dim x 2 bytes
DECODE_CTX = 512 + 128 // 2                                             # mean position while generating
BYTES_PER_TOKEN = ATTN + FFN + HEAD + NORMS + KV_PER_TOKEN * DECODE_CTX
BANDWIDTH = 100e9


def _decode_claim(specs, claimed: float) -> str:
    return f"""\
    claims:
      - id: toy-decode
        source: test
        quote: "fast"
        metric: decode_tok_s
        claimed: {claimed}
        model: {specs['toy-model']}
        hw: {specs['toy-gpu']}
        scheme: f16
        workload: {{batch: 1, prompt: 512, gen: 128}}
    """


def test_decode_above_bandwidth_over_bytes_is_impossible(claims_file, specs):
    ceiling = BANDWIDTH / BYTES_PER_TOKEN  # 86.3 tok/s
    [v] = check_claims(claims_file(_decode_claim(specs, round(ceiling * 1.2, 1))))
    assert v.outcome is Outcome.IMPOSSIBLE
    assert v.bound == pytest.approx(ceiling, rel=1e-12)
    assert v.bound_name == "bandwidth roofline"
    assert "of weight and KV-cache reads; toy-gpu has 100 GB/s" in v.sentence
    assert v.claimed_over_bound == pytest.approx(1.2, rel=1e-3)


def test_decode_below_the_ceiling_is_not_impossible(claims_file, specs):
    [v] = check_claims(claims_file(_decode_claim(specs, 80)))
    assert v.outcome is not Outcome.IMPOSSIBLE
    assert v.bound == pytest.approx(BANDWIDTH / BYTES_PER_TOKEN, rel=1e-12)
    if v.simulated is not None:  # the simulator never beats the roofline
        assert v.simulated <= v.bound * (1 + 1e-9)


def test_within_rounding_tolerance_of_the_bound_is_not_impossible(claims_file, specs):
    [v] = check_claims(claims_file(_decode_claim(specs, round(BANDWIDTH / BYTES_PER_TOKEN * 1.04, 2))))
    assert v.outcome is not Outcome.IMPOSSIBLE


def test_model_larger_than_memory_does_not_fit(claims_file, specs, small_gpu):
    body = f"""\
    claims:
      - id: moe-fits
        source: test
        quote: "fits"
        metric: fits
        claimed: true
        model: {specs['toy-moe']}
        hw: {small_gpu}
        scheme: f16
      - id: moe-decode
        source: test
        quote: "runs"
        metric: decode_tok_s
        claimed: 1
        model: {specs['toy-moe']}
        hw: {small_gpu}
        scheme: f16
    """
    fits, decode = check_claims(claims_file(body))
    assert fits.outcome is Outcome.IMPOSSIBLE and "does not fit" in fits.sentence
    assert fits.simulated > fits.bound == 2e9  # bytes needed > usable bytes
    assert decode.outcome is Outcome.IMPOSSIBLE and "does not run at all" in decode.sentence


EXPERTS = 4 * 16 * 3 * 4096 * 2048 * 2     # every expert of toy-moe at f16
ACTIVE = EXPERTS * 2 / 16                   # top-2 of 16 per layer


@pytest.mark.parametrize("claimed,impossible", [(30.0, True), (20.0, False)])
def test_offload_is_bounded_by_the_host_link(claims_file, specs, small_gpu, claimed, impossible):
    body = f"""\
    claims:
      - id: moe-offload
        source: test
        quote: "offload"
        metric: decode_tok_s
        claimed: {claimed}
        model: {specs['toy-moe']}
        hw: {small_gpu}
        scheme: f16
        offload: {{experts: static, fraction: 0.1}}
    """
    [v] = check_claims(claims_file(body))
    link_ceiling = 10e9 / (0.9 * ACTIVE)   # uniform routing: a 10% cache serves 10% of expert reads
    assert v.bound == pytest.approx(link_ceiling, rel=1e-9)
    assert v.bound_name == "host link"
    assert (v.outcome is Outcome.IMPOSSIBLE) == impossible
    if not impossible:  # inside the bounds: the discrete-event simulator gives simlow's value
        assert v.simulated is not None and v.simulated <= link_ceiling * 1.05
        assert v.outcome in (Outcome.PLAUSIBLE, Outcome.IMPLAUSIBLE, Outcome.CONSERVATIVE)


def test_exact_bytes_and_relative_factor(claims_file, specs):
    weights_f16 = ATTN + FFN + HEAD + NORMS + 1024 * 4096 * 2   # + embedding
    body = f"""\
    claims:
      - id: toy-size
        source: test
        quote: "size"
        metric: memory_bytes
        claimed: {weights_f16 * 0.9:.0f}
        model: {specs['toy-model']}
        scheme: f16
      - id: toy-ratio
        source: test
        quote: "2x less"
        metric: memory_bytes
        claimed: 1.9
        model: {specs['toy-model']}
        scheme: q8_0
        baseline: {{scheme: f16}}
    """
    size, ratio = check_claims(claims_file(body))
    assert size.simulated == weights_f16
    assert size.outcome is Outcome.IMPOSSIBLE  # claims 10% fewer bytes than the weights take
    # q8_0: 34 bytes per 32 weights on 2-D tensors; norms stay f32
    two_d = weights_f16 - NORMS
    q8 = two_d // 2 * 34 // 32 + NORMS
    assert ratio.simulated == pytest.approx(weights_f16 / q8, rel=1e-12)
    assert ratio.outcome is Outcome.PLAUSIBLE  # 1.9x claimed, 1.882x exact: within the 5% rounding
