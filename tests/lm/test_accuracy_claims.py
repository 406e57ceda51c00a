"""The seeds' accuracy claims file and its measurements: the file loads strictly, the
measures compute what their docstrings say (checked against plain NumPy), and a small
end-to-end check on the real model gives a verdict that follows from its own numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simlow.errors import SimlowError
from simlow.lm.accuracy_check import check_accuracy_claims
from simlow.lm.accuracy_claims import CLAIMS_FILE, Measure, load_accuracy_claims

GOOD = CLAIMS_FILE.read_text()


def test_shipped_file_loads_with_a_reading_for_every_claim():
    f = load_accuracy_claims()
    assert len(f.claims) >= 7 and all(c.reading and c.quote for c in f.claims)
    assert {c.measure for c in f.claims} == set(Measure)
    assert f.fit_start >= f.n_tokens                       # OffQ is fitted on tokens it is not judged on


@pytest.mark.parametrize("old,new,msg", [
    ("measure: kurtosis_growth", "measure: kurtosis", "measure"),
    ("design: pot3-residual", "design: pot3-residul", "not a shipped design"),
    ("sense: at_most", "sense: below", "sense"),
    ("fit: {start: 1024, n_tokens: 256}", "fit: {start: 100, n_tokens: 256}", "overlap"),
    ("    claimed: 10.0\n", "    claimed: 10.0\n    tolerance: 0.1\n", "unknown key"),
])
def test_bad_claim_files_name_the_key(tmp_path, old, new, msg):
    assert old in GOOD
    path = tmp_path / "accuracy.yaml"
    path.write_text(GOOD.replace(old, new, 1).replace("../text/", str(CLAIMS_FILE.parents[1] / "text") + "/"))
    with pytest.raises(SimlowError, match=msg):
        load_accuracy_claims(path)


def test_cli_unknown_claim_id_exits_2_before_loading_the_model(capsys):
    from simlow.cli import main
    assert main(["design", "claims", "--only", "no-such-claim"]) == 2
    assert "unknown claim id" in capsys.readouterr().err


def test_offq_reduction_is_the_std_of_the_channels_left_by_the_reflection():
    from simlow.lm.measures import _reduction
    from simlow.quant import offq

    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, 16)).astype(np.float32)
    x[:, 5] += 30.0                                          # a systematic outlier channel
    fitted = offq.fit(x)
    v = np.asarray(fitted.direction)
    w = v - np.eye(16)[0]
    z = x.astype(np.float64) - 2.0 * np.outer(x.astype(np.float64) @ w, w) / (w @ w)
    want = 1.0 - z[:, 1:].std() / x.astype(np.float64).std()
    assert _reduction(fitted, x) == pytest.approx(want, rel=1e-5) and want > 0.5   # the outlier channel is gone


def test_small_check_on_the_real_model_follows_its_own_numbers():
    ids = ("turboquant-3bit-kv-attention-error", "residual-stream-kurtosis-explodes")   # file order
    r = check_accuracy_claims(n_tokens=8, only=ids)
    assert r["setup"]["n_tokens"] == 8 and [v["id"] for v in r["verdicts"]] == list(ids)
    for v in r["verdicts"]:
        holds = v["measured"] <= v["claimed"] if v["sense"] == "at_most" else v["measured"] >= v["claimed"]
        assert v["verdict"] == ("consistent" if holds else "contradicted")
    kv, kurt = r["verdicts"]
    assert len(kurt["details"]["per_layer"]) == 30
    assert kurt["measured"] == pytest.approx(kurt["details"]["per_layer"][-1] / kurt["details"]["per_layer"][0])
    assert all(e > 0 for e in kv["details"]["per_layer"])  # a 3-bit cache changes every layer's attention
    assert kv["measured"] == pytest.approx(kv["details"]["mean"] / kv["details"]["baseline_mean"])


def test_a_float_kv_cache_changes_no_attention_output():
    from gguf import GGUFReader

    from simlow.lm.design import load_design
    from simlow.lm.forward import prepare_model
    from simlow.lm.gguf_load import load_gguf, smollm2_path
    from simlow.lm.measures import kv_attention_error

    path = smollm2_path()
    pm = prepare_model(load_gguf(path, GGUFReader(str(path))), load_design("float"))
    assert kv_attention_error(pm, load_design("float"), [504, 3458, 282, 4649]) == [0.0] * 30
