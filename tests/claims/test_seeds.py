"""workloads/claims/seeds.yaml: every claim gets a verdict or a stated reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from simlow.claims import Outcome, check_file, load_claims
from simlow.cli import main

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "workloads" / "claims" / "seeds.yaml"
SEED_DOCS = ROOT.parent / "shared" / "seeds"   # the seed documents, where the workspace has them


@pytest.fixture(scope="module")
def seeds():
    f = load_claims(SEEDS)
    return f, check_file(f)


def test_at_least_15_claims_and_every_one_answered(seeds):
    f, verdicts = seeds
    assert len(f.claims) >= 15
    by_id: dict[str, list] = {}
    for v in verdicts:
        by_id.setdefault(v.claim_id, []).append(v)
    for c in f.claims:
        assert len(by_id[c.id]) == len(c.configs()), c.id     # one verdict per candidate
        for v in by_id[c.id]:
            assert v.sentence.strip(), c.id
            if v.outcome is Outcome.CANNOT_ANSWER:   # never a silent gap: the reason is stated
                assert "cannot" in v.sentence or "no simulated value" in v.sentence, (c.id, v.sentence)
    for n in f.not_checked:
        [v] = by_id[n.id]
        assert v.outcome is Outcome.CANNOT_ANSWER and len(n.reason) > 10


def test_most_claims_get_a_real_verdict(seeds):
    _, verdicts = seeds
    decided = [v for v in verdicts if v.outcome is not Outcome.CANNOT_ANSWER]
    assert len({v.claim_id for v in decided}) >= 15


def test_every_verdict_carries_its_numbers(seeds):
    _, verdicts = seeds
    for v in verdicts:
        if v.outcome in (Outcome.IMPOSSIBLE,) and not isinstance(v.claimed, bool):
            assert v.bound is not None and re.search(r"\d", v.sentence), v.claim_id
        if v.outcome in (Outcome.PLAUSIBLE, Outcome.IMPLAUSIBLE, Outcome.CONSERVATIVE):
            assert v.simulated is not None, v.claim_id
        json.dumps(v.to_dict())  # JSON-able


@pytest.mark.skipif(not SEED_DOCS.is_dir(), reason="seed documents are not in this workspace")
def test_quotes_are_exact(seeds):
    f, _ = seeds
    for entry in (*f.claims, *f.not_checked):
        text = (SEED_DOCS / f"{entry.seed}.txt").read_text()
        assert " ".join(entry.quote.split()) in " ".join(text.split()), entry.id


def test_cli_json_and_table(capsys, monkeypatch, seeds):
    import simlow.claims

    calls = []
    monkeypatch.setattr(simlow.claims, "check_claims", lambda path: calls.append(path) or seeds[1])  # checked once
    assert main(["claims", "check", str(SEEDS), "--json"]) == 0
    assert calls == [str(SEEDS)]
    rows = json.loads(capsys.readouterr().out)
    assert {r["verdict"] for r in rows} <= {o.value for o in Outcome}
    assert any(r["claim"] == "gemma-12b-decode-149" and r["verdict"] == "impossible" for r in rows)
    assert main(["claims", "check", str(SEEDS)]) == 0
    assert "gemma-12b-decode-149" in capsys.readouterr().out


def test_cli_bad_file_exits_2(claims_file, capsys):
    path = claims_file("claims:\n  - {id: x, source: s, quote: q, metric: fits, claimed: true, hw: nope}\n")
    assert main(["claims", "check", path]) == 2
    err = capsys.readouterr().err
    assert "claim 'x'" in err and "hw" in err and "Traceback" not in err


def test_offload_claims_are_simulated_under_each_stated_routing(seeds):
    f, verdicts = seeds
    offload = [c for c in f.claims if any(cfg.offload is not None for cfg in c.configs())]
    assert len(offload) >= 4
    for c in offload:
        for v, cfg in zip([v for v in verdicts if v.claim_id == c.id], c.configs()):
            if cfg.offload is not None and cfg.offload.expert_cache is not None:
                assert f"routing {cfg.routing or 'uniform'}" in v.candidate, c.id
            if c.metric.value == "decode_tok_s":
                assert v.simulated is not None and any("des" in n for n in v.notes), (c.id, v.sentence)
    luce = [v for v in verdicts if v.claim_id == "luce-spark-35b-moe-16gb-offload"]
    assert {cfg.routing for cfg in f.claims[[c.id for c in f.claims].index(luce[0].claim_id)].configs()} \
        == {"uniform", "zipf:1.0", "zipf:2.0"}
    for v in luce:   # the hit rate and the skew the claim needs are stated with the verdict
        assert any("must hit the device cache" in n and "Zipf routing needs s >=" in n for n in v.notes)


def test_qserve_and_quarot_are_answered(seeds):
    _, verdicts = seeds
    for v in verdicts:
        if v.claim_id.startswith(("qserve", "quarot")):
            assert v.outcome is not Outcome.CANNOT_ANSWER, (v.claim_id, v.sentence)


def test_every_stated_reading_is_in_its_verdict(seeds):
    f, verdicts = seeds
    for c in f.claims:
        for v, cfg in zip([v for v in verdicts if v.claim_id == c.id], c.configs()):
            if cfg.reading:
                assert f"reading '{cfg.reading}'" in v.sentence and cfg.reading in v.candidate, c.id
