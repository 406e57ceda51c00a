"""Serving claims (metric serving_tok_s): answered from simlow.simulate_serving itself."""

from pathlib import Path

import pytest

from simlow.claims import Outcome, check_file, load_claims
from simlow.errors import SimlowError
from simlow.serving import simulate_serving

ROOT = Path(__file__).resolve().parents[2]

CLAIM = """schema_version: 1
claims:
  - id: small
    source: test
    quote: "2x the serving throughput"
    metric: serving_tok_s
    claimed: {claimed}
    model: llama-2-7b
    scheme: fp8
    kv_scheme: kv-fp8
    hw: h100-sxm
    stack: vllm
    workload: {{prompt: 256, gen: 32}}
    serving: {serving}
{rest}"""


def _file(tmp_path, claimed="2.0", serving="{concurrency: 64, requests: 128}", rest="    baseline: {scheme: f16, kv_scheme: kv-f16}"):
    p = tmp_path / "c.yaml"
    p.write_text(CLAIM.format(claimed=claimed, serving=serving, rest=rest))
    return p


def _tok_s(scheme, kv):
    return simulate_serving("llama-2-7b", "h100-sxm", scheme, stack="vllm", concurrency=64, requests=128,
                            prompt_len=256, output_len=32, kv_scheme=kv).throughput_output_tok_s


def test_relative_factor_is_the_ratio_of_two_serving_runs(tmp_path):
    [v] = check_file(load_claims(_file(tmp_path)))
    assert v.simulated == pytest.approx(_tok_s("fp8", "kv-fp8") / _tok_s("f16", "kv-f16"), rel=1e-12)
    assert v.bound is None and v.outcome is not Outcome.CANNOT_ANSWER
    assert "64 clients" in v.candidate and "output tok/s" in v.sentence


def test_absolute_claim_is_the_simulated_output_throughput(tmp_path):
    [v] = check_file(load_claims(_file(tmp_path, claimed="100000", rest="")))
    assert v.simulated == pytest.approx(_tok_s("fp8", "kv-fp8"), rel=1e-12)
    assert v.outcome is Outcome.IMPLAUSIBLE          # far above what the simulated server does


def test_a_server_that_cannot_hold_one_request_is_cannot_answer(tmp_path):
    f = _file(tmp_path, serving="{concurrency: 4, requests: 8}", rest="    baseline: {scheme: f16, kv_scheme: kv-f16}")
    text = f.read_text().replace("workload: {prompt: 256, gen: 32}", "workload: {prompt: 4000, gen: 32}")
    text = text.replace("hw: h100-sxm", "hw: rtx-4060ti-16gb").replace("model: llama-2-7b", "model: llama-2-13b")
    f.write_text(text)
    [v] = check_file(load_claims(f))
    assert v.outcome is Outcome.CANNOT_ANSWER and "cannot" in v.sentence


@pytest.mark.parametrize("serving, rest, match", [
    ("{requests: 10}", "", "needs concurrency"),
    ("{concurrency: 4, engine: sglang}", "", "engine"),
])
def test_bad_serving_keys_are_named(tmp_path, serving, rest, match):
    with pytest.raises(SimlowError, match=match) as e:
        load_claims(_file(tmp_path, serving=serving, rest=rest))
    assert "c.yaml" in str(e.value) and "small" in str(e.value)


def test_serving_on_a_metric_that_does_not_use_it_is_refused(tmp_path):
    text = _file(tmp_path, rest="").read_text().replace("metric: serving_tok_s", "metric: decode_tok_s")
    p = tmp_path / "d.yaml"
    p.write_text(text)
    with pytest.raises(SimlowError, match="serving"):
        load_claims(p)


def test_shipped_serving_claims_all_answered():
    f = load_claims(ROOT / "workloads" / "claims" / "serving.yaml")
    verdicts = check_file(f)
    assert len(verdicts) == sum(len(c.configs()) for c in f.claims) == 6
    assert all(v.outcome is not Outcome.CANNOT_ANSWER and v.simulated > 0 for v in verdicts)
