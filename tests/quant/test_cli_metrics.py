"""Metrics, the MiniLM loader and ``simlow quant compare``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simlow.cli import main
from simlow.quant import metrics
from simlow.quant.weights import minilm_matrices, read_safetensors


def test_metrics_on_known_values():
    x = np.array([[1.0, -2.0, 3.0, 0.0]])
    y = np.array([[1.0, -2.0, 2.0, 1.0]])
    assert metrics.mse(x, y) == 0.5
    assert metrics.max_err(x, y) == 1.0
    assert metrics.sqnr_db(x, y) == pytest.approx(10 * np.log10(14 / 2))
    bias, var = metrics.inner_product_error(x, y, np.array([[1.0, 1.0, 1.0, 1.0], [0, 0, 1.0, 0]]))
    assert (bias, var) == (-0.5, 0.25)
    g = np.random.default_rng(22).standard_normal(200_000)
    assert metrics.kurtosis(g) == pytest.approx(3.0, abs=0.05)


def test_safetensors_reader_roundtrip(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    header = json.dumps({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}).encode()
    (tmp_path / "t.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + a.tobytes())
    assert np.array_equal(read_safetensors(tmp_path / "t.safetensors")["a"], a)


def test_minilm_weights_load():
    m = minilm_matrices()
    assert len(m) == 36
    assert m["encoder.layer.0.attention.self.query.weight"].shape == (384, 384)
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in m.values())


def test_cli_compare_json(capsys, tmp_path):
    assert main(["quant", "compare", "--formats", "q8_0,q4_0,tq2_0", "--synthetic", "heavy-tailed", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["format"]: r for r in out["rows"]}
    assert rows["q8_0"]["sqnr_db"] > rows["q4_0"]["sqnr_db"] > 0
    assert out["kurtosis_hadamard"] < out["kurtosis"]         # rotation Gaussianises outliers
    np.save(tmp_path / "x.npy", np.ones((2, 32), np.float32))
    assert main(["quant", "compare", "--formats", "q4_0", "--tensor", str(tmp_path / "x.npy")]) == 0
    assert main(["quant", "compare", "--formats", "nope", "--synthetic", "gaussian"]) == 2


def test_cli_compare_minilm(capsys):
    assert main(["quant", "compare", "--formats", "q4_0,tq1_0", "--minilm", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows[0]["tensors"] == 36 and rows[0]["sqnr_db"] > 15
    assert rows[1]["skipped"] == 30      # only the 1536-wide matrices fit TQ1_0's 256-block


def test_compare_row_does_not_depend_on_the_other_formats_or_their_order():
    from simlow.quant.compare import compare, synthetic
    tensors = {**synthetic("heavy-tailed", seed=3, shape=(16, 512)),
               "narrow": np.random.default_rng(4).standard_normal((8, 64)).astype(np.float32)}
    alone = compare(tensors, ["tq2_0"], seed=7)["rows"][0]
    assert alone["skipped"] == 1                        # the 64-wide tensor misses TQ2_0's 256-block
    for order in (["q4_0", "tq2_0"], ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "tq2_0"],
                  ["tq2_0", "q8_0"]):
        rows = {r["format"]: r for r in compare(tensors, order, seed=7)["rows"]}
        assert rows["tq2_0"] == alone, order
    again = compare(tensors, ["q4_0", "tq2_0"], seed=8)["rows"]
    assert again[1]["ip_bias"] != alone["ip_bias"]      # the seed still matters
