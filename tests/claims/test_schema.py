"""Bad claim files: one-line SimlowError naming the claim id and the key."""

from __future__ import annotations

import pytest

from simlow.claims import load_claims
from simlow.claims.claimed import Claimed
from simlow.errors import SimlowError

GOOD = """\
claims:
  - id: c1
    source: s.txt
    quote: "q"
    metric: decode_tok_s
    claimed: 10
    model: llama-2-7b
    hw: h100-sxm
    scheme: q4_0
"""


def _bad(replace_from: str, replace_to: str) -> str:
    assert replace_from in GOOD
    return GOOD.replace(replace_from, replace_to)


def test_good_file_loads(claims_file):
    f = load_claims(claims_file(GOOD))
    [c] = f.claims
    assert c.id == "c1" and c.claimed == Claimed.value(10.0) and c.config.hw == "h100-sxm" and not c.relative


@pytest.mark.parametrize("old,new,fragment", [
    ("    scheme: q4_0\n", "    scheme: q4_0\n    sheme: q4_0\n", "claim 'c1': sheme: unknown key"),
    ("    metric: decode_tok_s\n", "    metric: tokens\n", "claim 'c1': metric: 'tokens' is not one of"),
    ("    metric: decode_tok_s\n", "", "claim 'c1': metric: missing required key"),
    ("    claimed: 10\n", "    claimed: fast\n", "claim 'c1': claimed: expected a number"),
    ("    claimed: 10\n", "    claimed: -3\n", "claim 'c1': claimed:"),
    ("    hw: h100-sxm\n", "    hw: h100-sxmm\n", "claim 'c1': hw: unknown hardware 'h100-sxmm'"),
    ("    hw: h100-sxm\n", "", "claim 'c1': hw: metric decode_tok_s needs hw"),
    ("    scheme: q4_0\n", "    scheme: kv-q8_0\n", "claim 'c1': scheme: 'kv-q8_0' is a KV-cache scheme"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    workload: {batch: 0}\n", "claim 'c1': workload.batch: 0 is below"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    workload: {btach: 2}\n", "claim 'c1': workload.btach: unknown key"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    candidates: [{}]\n", "claim 'c1': candidates[0]: a candidate entry"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    candidates: [{hw: nope}]\n", "claim 'c1': candidates[0].hw: unknown hardware"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    offload: {experts: static, fraction: 2}\n", "claim 'c1': offload.fraction: 2"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    offload: {device_fraction: 0.1}\n", "claim 'c1': offload.device_fraction: unknown key"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    offload: {experts: hot}\n", "claim 'c1': offload.experts: 'hot' is not one of lru, lfu, static"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    offload: {fraction: 0.1}\n", "claim 'c1': offload.fraction: fraction describes an expert cache"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    offload: {host: cpu}\n", "claim 'c1': offload: an offload needs device_layers"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    routing: zipf:x\n", "claim 'c1': routing: unknown routing 'zipf:x'"),
    ("    claimed: 10\n", "    claimed: [20, 10]\n", "claim 'c1': claimed: a range needs low < high"),
    ("    claimed: 10\n", "    claimed: 10\n    sense: about\n", "claim 'c1': sense: 'about' is not one of"),
    ("    scheme: q4_0\n", "    scheme: q4_0\n    memory: 7 GB\n", "claim 'c1': memory:"),
    ("  - id: c1\n", "  - id: C 1\n", "claims[0]: id: expected lowercase"),
])
def test_bad_claim_names_id_and_key(claims_file, old, new, fragment):
    with pytest.raises(SimlowError) as err:
        load_claims(claims_file(_bad(old, new)))
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_duplicate_yaml_key_and_duplicate_id(claims_file):
    with pytest.raises(SimlowError, match="duplicate key 'claimed'"):
        load_claims(claims_file(_bad("    claimed: 10\n", "    claimed: 10\n    claimed: 11\n")))
    twice = GOOD + GOOD.split("claims:\n")[1]
    with pytest.raises(SimlowError, match="claim id 'c1' is used more than once"):
        load_claims(claims_file(twice))


def test_fits_claim_needs_a_bool_and_no_baseline(claims_file):
    fits = _bad("    metric: decode_tok_s\n    claimed: 10\n", "    metric: fits\n    claimed: 10\n")
    with pytest.raises(SimlowError, match="claim 'c1': claimed: expected true or false"):
        load_claims(claims_file(fits))
    rel = _bad("    metric: decode_tok_s\n    claimed: 10\n", "    metric: fits\n    claimed: true\n    baseline: {scheme: f16}\n")
    with pytest.raises(SimlowError, match="claim 'c1': baseline: a fits claim cannot have a baseline"):
        load_claims(claims_file(rel))


def test_quantity_claims_parse_units(claims_file):
    body = _bad("    metric: decode_tok_s\n    claimed: 10\n", "    metric: memory_bytes\n    claimed: 18 GB\n")
    [c] = load_claims(claims_file(body)).claims
    assert c.claimed == Claimed.value(18e9)
    with pytest.raises(SimlowError, match="claim 'c1': claimed:"):
        load_claims(claims_file(body.replace("18 GB", "18 parsecs")))


def test_not_checked_needs_a_reason(claims_file):
    body = GOOD + "not_checked:\n  - {id: n1, source: s.txt, quote: \"q\"}\n"
    with pytest.raises(SimlowError, match="claim 'n1': reason: missing required key"):
        load_claims(claims_file(body))
