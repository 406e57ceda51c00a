"""Hostile files (issue 19): every YAML loader refuses them with a one-line SimlowError naming
the file, quickly and in little memory, never with a traceback, a hang or a RecursionError.
Numbers are read as a person writes them (1.5e2, 1e3, 1_000), NaN and infinity are refused.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from simlow.claims import load_claims
from simlow.cli import main
from simlow.cost.memory import load_memory
from simlow.cost.primitives import load_primitives
from simlow.cost.scaling import load_scaling
from simlow.errors import SimlowError
from simlow.npu.data import load_npu_data
from simlow.quantities import Dim, parse
from simlow.sim.stack_load import load_stack
from simlow.specs import load_hw, load_model, load_scheme
from simlow.specs.registry import data_root
from simlow.specs.yamlfile import MAX_BYTES, MAX_DEPTH, MAX_NODES, Reader, loads_yaml
from simlow.specs.tensors import param_count
from simlow.sweep import load_sweep

LOADERS = {"hardware": load_hw, "model": load_model, "scheme": load_scheme, "stack": load_stack,
           "claims": load_claims, "sweep": load_sweep, "npu-data": load_npu_data,
           "primitives": load_primitives, "memory": load_memory, "scaling": load_scaling}


def _laughs() -> bytes:
    lines = ["schema_version: 1", "name: x", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return ("\n".join(lines) + "\ntitle: *a9\n").encode()


HOSTILE = {
    "billion laughs": (_laughs(), "anchors and aliases"),
    "one alias": (b"a: &x 1\nb: *x\n", "anchors and aliases"),
    "5000-deep list": (b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", f"nested deeper than {MAX_DEPTH}"),
    "3000-deep map": (b"a: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n", f"nested deeper than {MAX_DEPTH}"),
    "deep block map": ("".join("  " * i + "a:\n" for i in range(60)).encode() + b"  " * 60 + b"b: 1\n",
                       "nested deeper"),
    "random bytes": (bytes(range(128, 256)) * 8 + os.urandom(64), "is not UTF-8 text"),
    "NUL byte": (b"schema_version: 1\nname: x\x00\n", "character #x0000"),
    "UTF-16 with BOM": ("schema_version: 1\nname: x\n".encode("utf-16"), "UTF-16"),
    "too large": (b"a: '" + b"x" * MAX_BYTES + b"'\n", "too large"),
    "too many values": (b"a: [" + b"1, " * (MAX_NODES + 10) + b"1]\n", f"more than {MAX_NODES} values"),
    "5000-digit integer": (b"a: " + b"7" * 5000 + b"\n", "invalid YAML"),
    "impossible date": (b"a: 2024-13-45\n", "invalid YAML"),
    "list as a key": (b"? [1, 2]\n: 3\n", "a key must be text or a number"),
    "python tag": (b"a: !!python/object/apply:os.system ['true']\n", "invalid YAML"),
    "duplicate key": (b"a: 1\nb: 2\na: 3\n", "line 3: duplicate key 'a' (first at line 1)"),
    "empty": (b"", "expected a mapping"),
    "a scalar": (b"42\n", "expected a mapping"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("kind", list(LOADERS))
def test_hostile_file_is_a_clear_error(tmp_path, kind, case):
    content, fragment = HOSTILE[case]
    path = tmp_path / "x.yaml"
    path.write_bytes(content)
    start = time.perf_counter()
    with pytest.raises(SimlowError) as err:
        LOADERS[kind](path)
    elapsed = time.perf_counter() - start
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg and fragment in msg, msg
    assert elapsed < 5.0, f"{case}: {elapsed:.1f} s"   # about 1 s unloaded; 2 cores are shared


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_directory_is_named_a_directory(tmp_path, kind):
    d = tmp_path / "x.yaml"
    d.mkdir()
    with pytest.raises(SimlowError, match="is a directory"):
        LOADERS[kind](d)


def test_cli_exits_2_on_hostile_files(tmp_path, capsys):
    laughs = tmp_path / "rtx-4090.yaml"
    laughs.write_bytes(_laughs())
    assert main(["fit", "--model", "llama-2-7b", "--hw", str(laughs)]) == 2
    assert main(["fit", "--model", str(tmp_path), "--hw", "h100-sxm"]) == 2
    deep = tmp_path / "claims.yaml"
    deep.write_bytes(HOSTILE["5000-deep list"][0])
    assert main(["claims", "check", str(deep)]) == 2
    err = capsys.readouterr().err
    assert "anchors and aliases" in err and "is a directory" in err and "nested deeper" in err
    assert "Traceback" not in err


# -- numbers --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [("1.5e2", 150.0), ("1e3", 1000.0), ("1_000", 1000),
                                         ("2.5E-3", 0.0025), ("-1e-2", -0.01), ("1.0e+3", 1000.0)])
def test_numbers_as_people_write_them(text, value):
    got = loads_yaml(f"a: {text}\n", "f.yaml")["a"]
    assert got == value and type(got) is type(value)


def test_text_that_only_looks_numeric_stays_text():
    assert loads_yaml("a: 1e\nb: e3\nc: 1e3x\nd: v1.5e2\n", "f.yaml") == {"a": "1e", "b": "e3", "c": "1e3x",
                                                                          "d": "v1.5e2"}


def test_reader_number_refuses_nan_and_inf():
    for text in (".nan", ".inf", "-.inf"):
        r = Reader(loads_yaml(f"x: {text}\n", "f.yaml"), "f.yaml")
        with pytest.raises(SimlowError, match="f.yaml: x: expected a finite number"):
            r.number("x")


def test_reader_int_takes_whole_floats_only():
    r = Reader({"a": 1e3, "b": 1.5, "c": float("inf")}, "f.yaml")
    assert r.int("a") == 1000 and isinstance(r.int("a"), int)
    for key in ("b", "c"):
        with pytest.raises(SimlowError, match=f"f.yaml: {key}: expected a whole number"):
            r.int(key)


def test_quantities_take_underscores_and_exponents():
    assert parse("1_000 GB", Dim.BYTES) == 1e12
    assert parse("1.5e2 GB/s", Dim.BANDWIDTH) == 1.5e11
    for bad in ("1__0 GB", "_1 GB", "1_ GB", "1e400 GB"):
        with pytest.raises(SimlowError):
            parse(bad, Dim.BYTES)


CLAIM = """\
schema_version: 1
claims:
  - id: c1
    source: s.txt
    quote: "q"
    metric: decode_tok_s
    claimed: {claimed}
    model: llama-2-7b
    hw: h100-sxm
    scheme: q4_0
"""


@pytest.mark.parametrize("text", [".nan", ".inf", "[1, .nan]"])
def test_claimed_nan_is_refused_with_the_key(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(CLAIM.format(claimed=text))
    with pytest.raises(SimlowError, match=r"c\.yaml: claim 'c1': claimed: expected a finite number"):
        load_claims(path)


@pytest.mark.parametrize("text, value", [("1.5e2", 150.0), ("1e3", 1000.0), ("1_000", 1000.0)])
def test_claimed_in_scientific_notation(tmp_path, text, value):
    path = tmp_path / "c.yaml"
    path.write_text(CLAIM.format(claimed=text))
    [claim] = load_claims(path).claims
    assert claim.claimed.low == claim.claimed.high == value


MODEL = (data_root() / "workloads" / "models" / "llama-2-7b.yaml").read_text()


def _model(tmp_path: Path, old: str, new: str) -> Path:
    assert old in MODEL
    path = tmp_path / "llama-2-7b.yaml"
    path.write_text(MODEL.replace(old, new))
    return path


def test_model_dimensions_are_bounded_at_load(tmp_path):
    path = _model(tmp_path, "layers: 32", "layers: 1000000000")
    with pytest.raises(SimlowError, match=r"llama-2-7b\.yaml: layers: 1000000000 is above 1024"):
        load_model(path)
    path = _model(tmp_path, "vocab_size: 32000", "vocab_size: 1e12")
    with pytest.raises(SimlowError, match=r"vocab_size: 1000000000000 is above 4194304"):
        load_model(path)


def test_model_ints_in_scientific_notation(tmp_path):
    m = load_model(_model(tmp_path, "vocab_size: 32000", "vocab_size: 3.2e4"))
    assert m.vocab_size == 32000 and isinstance(m.vocab_size, int)
    assert param_count(m) == param_count(load_model("llama-2-7b"))


def test_fit_refuses_a_billion_layers_quickly(tmp_path, capsys):
    path = _model(tmp_path, "layers: 32", "layers: 1000000000")
    start = time.perf_counter()
    assert main(["fit", "--model", str(path), "--hw", "h100-sxm", "--scheme", "q4_0"]) == 2
    assert time.perf_counter() - start < 5.0
    assert "layers: 1000000000 is above 1024" in capsys.readouterr().err


def test_hardware_nan_fraction_names_the_key(tmp_path):
    text = (data_root() / "hwspecs" / "rtx-4090.yaml").read_text()
    assert "usable: {value: 0.96," in text
    path = tmp_path / "rtx-4090.yaml"
    path.write_text(text.replace("usable: {value: 0.96,", "usable: {value: .nan,", 1))
    with pytest.raises(SimlowError, match=r"memories\[0\]\.usable\.value: expected a finite number"):
        load_hw(path)


def test_a_required_key_given_as_null_is_refused():
    r = Reader(loads_yaml("evaluate: null\nname: ~\n", "f.yaml"), "f.yaml")
    with pytest.raises(SimlowError, match="f.yaml: evaluate: needs a value, got nothing"):
        r.str("evaluate", choices=("fit", "predict"))
    assert r.str("name", default="x") == "x"          # an optional key given as null takes its default


def test_hardware_capacity_and_bandwidth_are_required(tmp_path):
    text = (data_root() / "hwspecs" / "rtx-4090.yaml").read_text()
    for line in ("    bandwidth: 1008 GB/s\n", "  tdp: "):
        assert line in text
    path = tmp_path / "rtx-4090.yaml"
    path.write_text(text.replace("    bandwidth: 1008 GB/s\n", "", 1))
    with pytest.raises(SimlowError, match=r"memories\[0\]\.bandwidth: missing required key"):
        load_hw(path)
