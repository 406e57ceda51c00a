"""simlow.lm's arithmetic against independent references: the JAX integer MAC equals the
NumPy unit bit for bit; the ggml block dot equals a plain NumPy block loop; designs load."""

from __future__ import annotations

import numpy as np
import pytest

from simlow.cli import main
from simlow.datapath import UNITS, intmac
from simlow.errors import SimlowError
from simlow.lm.calibrate import check_disjoint
from simlow.lm.design import CALIBRATION_TEXT, Datapath, Rotation, load_design, read_design, shipped_designs
from simlow.lm.ggml_dot import block_dot, quantize_q8_1, reference_block_dot
from simlow.lm.intmatmul import int_matmul_scaled
from simlow.quant import quantize


@pytest.mark.parametrize("unit,groups", [("int8_tensor_core", 1), ("int8_tensor_core", 3),
                                         ("int4_tensor_core", 2), ("int4x8_tensor_core", 1),
                                         ("int8_mac_acc20", 1)])
def test_jax_int_matmul_equals_numpy_unit(unit, groups):
    u = UNITS[unit]
    rng = np.random.default_rng(groups)
    qa, qw = 2 ** (u.a_bits - 1), 2 ** (u.w_bits - 1)
    a = rng.integers(-qa, qa, (6, 1536)).astype(np.int8)
    w = rng.integers(-qw, qw, (17, 1536)).astype(np.int8)
    a[0] = -qa                                           # extreme codes, largest sums
    w[0] = -qw
    sa = rng.random((6, groups)).astype(np.float32)
    sw = rng.random((17, groups)).astype(np.float32)
    y, used_numpy = int_matmul_scaled(u, a, w, sa, sw)
    ref, _ = intmac.run(u, a, w.T, sa, sw.T)
    assert used_numpy == (unit == "int8_mac_acc20")      # a 20-bit accumulator can saturate here
    np.testing.assert_array_equal(np.asarray(y).view(np.uint32), ref.view(np.uint32))


@pytest.mark.parametrize("fmt", ["q4_1", "q4_0", "q8_0"])
def test_ggml_block_dot_equals_numpy_block_loop(fmt):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((5, 192)) * rng.random((1, 192)) * 4).astype(np.float32)
    w = quantize(rng.standard_normal((40, 192)).astype(np.float32), fmt)
    aq, ad, as_ = quantize_q8_1(x)
    y = np.asarray(block_dot(aq, ad, as_, w))
    wm = np.asarray(w.aux["min"]).reshape(40, -1) if "min" in w.aux else None
    ref = reference_block_dot(aq, ad, as_, w.codes, np.asarray(w.scales).reshape(40, -1), wm, fmt)
    np.testing.assert_array_equal(y.view(np.uint32), ref.view(np.uint32))
    assert np.abs(y - x @ np.asarray(w.dequantize()).T).max() < 0.05 * np.abs(y).max()


def test_q8_1_is_q8_0_codes_with_the_block_sum():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 64)).astype(np.float32)
    aq, ad, s = quantize_q8_1(x)
    q = quantize(x, "q8_0")
    np.testing.assert_array_equal(np.asarray(aq), np.asarray(q.codes))
    blocks = x.reshape(4, 2, 32)
    d32 = (np.abs(blocks).max(-1) / np.float32(127)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(ad, np.float32), d32.astype(np.float16).astype(np.float32))
    want = (np.asarray(aq, np.int64).reshape(4, 2, 32).sum(-1).astype(np.float32) * d32).astype(np.float16)
    np.testing.assert_array_equal(np.asarray(s), want)


def test_shipped_designs_load():
    names = shipped_designs()
    for need in ("float", "gguf-native", "q8_0", "q4_0", "w4a4-rtn", "w4a4-quarot", "w4a8kv4",
                 "pot3", "pot4", "ternary", "kv-q4_0", "gptq-w3g64", "awq-w3g64", "hqq-w3g64"):
        assert need in names
    designs = {n: load_design(n) for n in names}
    assert designs["w4a4-quarot"].rotation is Rotation.HADAMARD
    assert designs["w4a4-quarot"].unit.a_bits == 4 and designs["gguf-native"].datapath is Datapath.GGML


@pytest.mark.parametrize("body,msg", [
    ("weights: float\ncolour: red\n", "unknown key"),
    ("weights: q9_9\n", "is not a format"),
    ("weights: int8_sym_channel\nactivations: float\ndatapath: int8_tensor_core\n", "symmetric"),
    ("weights: q4_1\nactivations: float\ndatapath: ggml\n", "ggml datapath"),
    ("weights: float\ndatapath: nope\n", "not float, ggml"),
    ("weights: q4_0\nmethod: gptq\n", "uniform integer grid"),
    ("weights: int3_sym_g64\nmethod: hqq\n", "asymmetric per-group"),
    ("weights: int3_asym_g64\nmethod: hqq\ncalibration: {start: 0, n_tokens: 8}\n", "takes no calibration"),
    ("weights: int3_asym_g64\nmethod: awq\nactivations: int8_sym_channel\n", "awq folds"),
    ("weights: int3_asym_g64\nmethod: gptq\nhqq_zero: integer\n", "hqq only"),
    ("weights: orp3\nactivations: int8_sym_channel\ndatapath: pot_shift_add\nfrac_bits: 2\nrotation: hadamard\n",
     "own Hadamard"),
    ("weights: orp2\nactivations: int8_sym_channel\ndatapath: pot_shift_add\n", "no pot2 format"),
    ("weights: int4_sym_channel\nactivations: q8_0\nrotation: offq\n", "per token"),
    ("weights: int4_sym_g64\nactivations: int4_sym_channel\nrotation: offq\ndatapath: int4_tensor_core\n",
     "per channel"),
    ("weights: int4_sym_channel\nactivations: int4_sym_channel\nrotation: hadamard\ncalibration: {start: 0, n_tokens: 8}\n",
     "takes no calibration"),
    ("weights: int3_asym_g64\nmethod: gptq\nrotation: hadamard\n", "without rotation"),
    ("weights: int3_asym_g64\nmethod: gptq\ncalibration: {start: 0}\n", "n_tokens"),
])
def test_bad_design_files_name_the_key(tmp_path, body, msg):
    path = tmp_path / "bad.yaml"
    path.write_text(f"schema_version: 1\nname: bad\n{body}")
    with pytest.raises(SimlowError, match=msg) as err:
        read_design(path)
    assert "bad.yaml" in str(err.value)


def test_cli_unknown_design_exits_2(capsys, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("1 2 3")
    assert main(["design", "evaluate", "--tokens", str(ids), "--design", "no-such-design"]) == 2
    assert "unknown design" in capsys.readouterr().err


def test_cli_missing_text_exits_2_before_loading_the_model(capsys, tmp_path):
    assert main(["design", "evaluate", "--text", str(tmp_path / "none.txt"), "--design", "float"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_speed_is_not_available_when_no_scheme_or_stack_prices_the_design():
    from simlow.lm.evaluate import speed_of
    from simlow.lm.gguf_load import smollm2_path

    path = smollm2_path()
    assert speed_of(path, load_design("pot3"))["decode_tok_s"] == "not available"
    pot4 = speed_of(path, load_design("pot4"))
    assert pot4["energy_j_per_token"].startswith("not available: stack llama.cpp-cuda cannot run format pot4")
    q4 = speed_of(path, load_design("q4_0"))
    assert q4["decode_tok_s"] > 0 and "scheme q4_0" in q4["speed_source"]


@pytest.mark.parametrize("rotation", ["hadamard", "random"])
def test_rotation_of_weights_and_activations_cancels_before_quantization(rotation):
    import dataclasses

    from simlow.lm.linear import apply, prepare

    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 576)).astype(np.float32)
    w = rng.standard_normal((24, 576)).astype(np.float32)
    design = dataclasses.replace(load_design("float"), rotation=Rotation(rotation))
    y = np.asarray(apply(design, x, prepare(design, w)))
    np.testing.assert_allclose(y, x @ w.T, rtol=0, atol=1e-3 * np.abs(x @ w.T).max())
    assert not np.allclose(np.asarray(prepare(design, w).values), w)      # the weights were rotated


def test_calibrated_designs_refuse_evaluation_on_their_calibration_tokens(tmp_path):
    d = load_design("gptq-w3g64")
    assert (d.calibration.start, d.calibration.end) == (2048, 4096)
    with pytest.raises(SimlowError, match="calibrated on tokens 2048..4096"):
        check_disjoint(d, CALIBRATION_TEXT, 2049)
    check_disjoint(d, CALIBRATION_TEXT, 2048)                  # tokens 0..2047: disjoint
    check_disjoint(load_design("hqq-w3g64"), CALIBRATION_TEXT, 4096)   # calibration-free
    assert main(["design", "evaluate", "--text", str(CALIBRATION_TEXT), "--n-tokens", "4000",
                 "--design", "awq-w3g64"]) == 2
