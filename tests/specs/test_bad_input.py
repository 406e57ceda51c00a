"""Malformed specs: each mistake is a SimlowError naming the file and the key path."""

import re
from pathlib import Path

import pytest

from simlow.errors import SimlowError
from simlow.specs import load_hw, load_model, load_scheme
from simlow.specs.registry import data_root

HW = (data_root() / "hwspecs" / "rtx-4090.yaml").read_text()
MODEL = (data_root() / "workloads" / "models" / "llama-2-7b.yaml").read_text()
SCHEME = (data_root() / "workloads" / "schemes" / "q4_k_m.yaml").read_text()


def _file(tmp_path: Path, stem: str, text: str) -> Path:
    p = tmp_path / f"{stem}.yaml"
    p.write_text(text)
    return p


def _fails(load, path: Path, *fragments: str):
    with pytest.raises(SimlowError) as err:
        load(path)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg
    for f in fragments:
        assert f in msg, (f, msg)
    return msg


def test_duplicate_key(tmp_path):
    text = HW.replace("    bandwidth: 1008 GB/s\n", "    bandwidth: 1008 GB/s\n    bandwidth: 1 TB/s\n", 1)
    _fails(load_hw, _file(tmp_path, "rtx-4090", text), "duplicate key 'bandwidth'")


def test_unknown_key(tmp_path):
    text = HW.replace("    clock: 2.52 GHz\n", "    clock: 2.52 GHz\n    clok: 2 GHz\n")
    _fails(load_hw, _file(tmp_path, "rtx-4090", text), "engines[0].clok", "unknown key")


def test_wrong_type(tmp_path):
    _fails(load_model, _file(tmp_path, "llama-2-7b", MODEL.replace("layers: 32", "layers: many")),
           "layers", "expected a whole number")


def test_missing_unit(tmp_path):
    text = HW.replace("    bandwidth: 1008 GB/s\n", "    bandwidth: 1008\n", 1)
    _fails(load_hw, _file(tmp_path, "rtx-4090", text), "memories[0].bandwidth", "no unit")


def test_unknown_unit(tmp_path):
    text = HW.replace("    bandwidth: 1008 GB/s\n", "    bandwidth: 1008 GQ/s\n", 1)
    _fails(load_hw, _file(tmp_path, "rtx-4090", text), "memories[0].bandwidth", "unknown unit")


def test_missing_source(tmp_path):
    text = re.sub(r'^source: .*\n', "", HW, count=1, flags=re.M)
    _fails(load_hw, _file(tmp_path, "rtx-4090", text), "has no source")


def test_negative_amount(tmp_path):
    text = HW.replace("    bandwidth: 1008 GB/s\n", "    bandwidth: -1008 GB/s\n", 1)
    _fails(load_hw, _file(tmp_path, "rtx-4090", text), "memories[0].bandwidth", "non-negative")


def test_out_of_range_fraction(tmp_path):
    text = HW.replace("usable: {value: 0.96,", "usable: {value: 1.5,", 1)
    _fails(load_hw, _file(tmp_path, "rtx-4090", text), "memories[0].usable.value", "outside")


def test_wrong_schema_version(tmp_path):
    for load, text, stem in ((load_hw, HW, "rtx-4090"), (load_model, MODEL, "llama-2-7b"),
                             (load_scheme, SCHEME, "q4_k_m")):
        _fails(load, _file(tmp_path, stem, text.replace("schema_version: 1", "schema_version: 2")),
               "schema_version", "not supported")


def test_name_must_match_file(tmp_path):
    _fails(load_model, _file(tmp_path, "other", MODEL), "name", "file name stem")


def test_scheme_unknown_format_and_class(tmp_path):
    _fails(load_scheme, _file(tmp_path, "q4_k_m", SCHEME.replace("default: q4_k", "default: q4_kk")),
           "weights.default", "unknown storage format", "did you mean")
    _fails(load_scheme, _file(tmp_path, "q4_k_m", SCHEME.replace("lm_head: q6_k", "lm_hed: q6_k")),
           "weights.lm_hed", "unknown tensor class")
    _fails(load_scheme, _file(tmp_path, "q4_k_m", SCHEME.replace("{experts: 8}", "{expert: 8}", 1)),
           "overrides[0].when.expert", "unknown key")


def test_engine_references_unknown_memory(tmp_path):
    _fails(load_hw, _file(tmp_path, "rtx-4090", HW.replace("    memory: vram\n", "    memory: hbm\n")),
           "unknown memory 'hbm'")


@pytest.mark.parametrize("load,kind,typo,suggestion", [
    (load_hw, "hardware", "rtx-4900", "rtx-4090"),
    (load_model, "model", "llama-2-7", "llama-2-7b"),
    (load_scheme, "scheme", "q4_k", "q4_k_m"),
])
def test_unknown_name_suggests(load, kind, typo, suggestion):
    with pytest.raises(SimlowError, match=rf"unknown {kind} '{typo}'; did you mean .*{suggestion}"):
        load(typo)


def test_capacity_option(tmp_path):
    # Apple sells the 64 GiB configuration as "64 GB": either name selects it
    assert load_hw("m4-max", memory="64 GB").main_memory.capacity_bytes == 64 * 2**30
    assert load_hw("m4-max", memory="64 GiB").main_memory.capacity_bytes == 64 * 2**30
    with pytest.raises(SimlowError, match="not a configuration"):
        load_hw("m4-max", memory="100 GB")


# -- specs no device can have (issue 19): zero or negative rates, sizes and powers, idle > tdp --

@pytest.mark.parametrize("old,new,key", [
    ("    clock: 2.52 GHz\n", "    clock: 0 GHz\n", "engines[0].clock"),
    ("    clock: 2.52 GHz\n", "    clock: -1 GHz\n", "engines[0].clock"),
    ("    bandwidth: 1008 GB/s\n", "    bandwidth: 0 GB/s\n", "memories[0].bandwidth"),
    ("capacity: {value: 24564 MiB,", "capacity: {value: 0 MiB,", "memories[0].capacity"),
    ("      fp16: 165.2 TFLOP/s\n", "      fp16: 0 TFLOP/s\n", "engines[0].peak.fp16"),
    ("      int8: 10.24 TOP/s\n", "      int8: -3 TOP/s\n", "engines[1].peak.int8"),
    ("  tdp: 450 W\n", "  tdp: 0 W\n", "power.tdp"),
    ("{value: 20 W,", "{value: 0 W,", "power.idle"),
    ("{value: 31.5 GB/s,", "{value: 0 GB/s,", "links[0].bandwidth"),
    ("{value: 7.25 pJ/bit,", "{value: 0 pJ/bit,", "memories[0].energy_per_bit"),
    ("node: {value: 4 nm,", "node: {value: 0 nm,", "node"),
    ("    units: 128\n", "    units: 0\n", "engines[0].units"),
])
def test_impossible_value_refused_with_its_key(tmp_path, old, new, key):
    assert HW.count(old) >= 1, old
    msg = _fails(load_hw, _file(tmp_path, "rtx-4090", HW.replace(old, new, 1)), key)
    assert any(w in msg for w in ("greater than zero", "non-negative", "below the minimum")), msg


def test_idle_above_tdp_refused(tmp_path):
    text = HW.replace("{value: 20 W,", "{value: 500 W,", 1)
    _fails(load_hw, _file(tmp_path, "rtx-4090", text), "power.idle", "above tdp 450 W")


def test_zero_capacity_option_refused(tmp_path):
    m4 = (data_root() / "hwspecs" / "m4-max.yaml").read_text()
    text = m4.replace("capacity_options: [48 GiB,", "capacity_options: [0 GiB, 48 GiB,", 1)
    _fails(load_hw, _file(tmp_path, "m4-max", text), "capacity_options", "greater than zero")


def test_zero_clock_exits_2_through_the_cli(tmp_path, capsys):
    from simlow.cli import main
    path = _file(tmp_path, "rtx-4090", HW.replace("    clock: 2.52 GHz\n", "    clock: 0 GHz\n", 1))
    code = main(["predict", "--model", "llama-3-8b", "--hw", str(path), "--scheme", "q4_k_m"])
    err = capsys.readouterr().err
    assert code == 2
    assert "engines[0].clock" in err and "greater than zero" in err and "Traceback" not in err
