"""The technology tables: every value traceable to its source; strict loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simlow.cost.memory import MEMORY_FILE, load_memory
from simlow.cost.primitives import PRIMITIVES_FILE, load_primitives
from simlow.cost.scaling import SCALING_FILE, load_scaling
from simlow.specs.sourced import Confidence
from simlow.cost.widthmodel import Shape
from simlow.errors import SimlowError


def _raw():
    return yaml.safe_load(PRIMITIVES_FILE.read_text())


def _shape(item: dict) -> Shape:
    return Shape(item.get("width", 0), item.get("width2", 0), item.get("fmt", ""), item.get("capacity_bytes", 0))


def test_every_anchor_traces_to_its_source_field():
    raw = _raw()["primitives"]
    table = load_primitives()
    n = 0
    for name, prim in raw.items():
        loaded = table.get(name)
        for key, curve in (("energy_pJ", loaded.energy_pJ), ("area_um2", loaded.area_um2)):
            by_shape = {a.shape: a for a in curve.anchors}
            assert len(by_shape) == len(prim[key])
            for item in prim[key]:
                a = by_shape[_shape(item)]
                assert a.raw.value == item["value"]
                assert a.raw.source == item["source"]
                assert a.raw.confidence is Confidence(item["confidence"])
                if "library_ref" in prim:
                    # the same-library ratio, recomputed here from the raw YAML
                    ref = prim["library_ref"]
                    base = next(b for b in raw[ref["primitive"]][key] if b.get("width") == ref["width"])
                    assert a.value == pytest.approx(item["value"] * base["value"] / ref[key]["value"], rel=1e-12)
                    assert ref[key]["source"] in a.sources[1]
                else:
                    assert a.value == item["value"]
                n += 1
    assert n >= 30


def test_horowitz_values_are_the_published_ones():
    t = load_primitives()
    e = {a.shape.width: a.value for a in t.get("int_add").energy_pJ.anchors}
    assert e == {8: 0.03, 16: 0.05, 32: 0.1}
    m = {a.shape.width: a.value for a in t.get("int_mul").energy_pJ.anchors}
    assert m == {8: 0.2, 32: 3.1}
    fm = {a.shape.fmt: a.value for a in t.get("fp_mul").energy_pJ.anchors}
    assert fm == {"fp16": 1.1, "fp32": 3.7}


def test_aladdin_ratios_preserved_after_normalisation():
    # Derived from Aladdin 40 nm (shifter.csv, aladdin_adder.csv): 32-bit shifter / adder = 2.0x energy, 0.9x area.
    t = load_primitives()
    sh = t.get("shift")
    add32 = next(a for a in t.get("int_add").energy_pJ.anchors if a.shape.width == 32)
    add32a = next(a for a in t.get("int_add").area_um2.anchors if a.shape.width == 32)
    assert sh.energy_pJ.anchors[0].value / add32.value == pytest.approx(0.417 / 0.21)
    assert round(sh.energy_pJ.anchors[0].value / add32.value, 1) == 2.0
    assert round(sh.area_um2.anchors[0].value / add32a.value, 1) == 0.9


def test_every_memory_entry_has_source_and_range():
    raw = yaml.safe_load(MEMORY_FILE.read_text())
    mem = load_memory()
    for kind in ("dram", "link"):
        for name, item in raw[kind].items():
            e = mem.get(name)
            assert e.pJ_per_bit == item["pJ_per_bit"] and e.source == item["source"]
            assert e.low <= e.pJ_per_bit <= e.high
    for name in ("hbm2", "hbm2e", "hbm3", "gddr6", "gddr6x", "gddr7", "lpddr4x", "lpddr5", "lpddr5x",
                 "ddr5", "pcie_gen5", "nvlink_c2c"):
        assert mem.get(name).source
    assert mem.get("LPDDR5X").energy_pJ(8) == pytest.approx(8 * 4.8)
    with pytest.raises(SimlowError, match="lpddr5x"):
        mem.get("lpddr5y")


def test_scaling_data_loads_with_sources():
    d = load_scaling(SCALING_FILE)
    assert "Stillmaker" in d.stillmaker_source and d.vdd.value == 0.8
    assert {c for c, _, _ in d.jouppi} == {"int8_add", "int8_mult", "fp16_add", "fp32_add", "fp16_mult", "fp32_mult"}


# ---- strict loading: bad files name the file and the key path -------------------------

def _write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _load_modified(tmp_path, old: str, new: str):
    text = PRIMITIVES_FILE.read_text()
    assert old in text
    p = _write(tmp_path, text.replace(old, new, 1))
    return load_primitives(p)


def test_missing_source_names_file_and_key(tmp_path):
    old = '{width: 16, value: 0.05, confidence: S, source: "Horowitz ISSCC 2014 45 nm table, via Stillwater universal generic_45nm.hpp"}'
    with pytest.raises(SimlowError, match=r"bad\.yaml: primitives\.int_add\.energy_pJ\[1\]\.source: missing"):
        _load_modified(tmp_path, old, "{width: 16, value: 0.05, confidence: S}")


def test_unknown_key_names_file_and_key(tmp_path):
    with pytest.raises(SimlowError, match=r"bad\.yaml: primitives\.int_mul\.energy_pJ\[0\]\.colour: unknown key"):
        _load_modified(tmp_path, "- {width: 8, width2: 8, value: 0.2,", "- {colour: red, width: 8, width2: 8, value: 0.2,")


def test_duplicate_key_is_refused(tmp_path):
    with pytest.raises(SimlowError, match=r"bad\.yaml: line \d+: duplicate key 'model'"):
        _load_modified(tmp_path, "    model: product\n", "    model: product\n    model: linear\n")


def test_bad_confidence_and_bad_model(tmp_path):
    with pytest.raises(SimlowError, match=r"int_mul\.energy_pJ\[0\]\.confidence: unknown confidence 'X'"):
        _load_modified(tmp_path, "value: 0.2, confidence: S", "value: 0.2, confidence: X")
    with pytest.raises(SimlowError, match=r"int_mul\.model: unknown width model 'cubic'"):
        _load_modified(tmp_path, "model: product", "model: cubic")


def test_non_monotone_anchors_refused(tmp_path):
    with pytest.raises(SimlowError, match=r"int_add\.energy_pJ: cost falls with size"):
        _load_modified(tmp_path, "{width: 16, value: 0.05,", "{width: 16, value: 0.5,")


def test_negative_value_refused(tmp_path):
    with pytest.raises(SimlowError, match=r"int_mul\.energy_pJ\[0\]\.value: expected a number > 0"):
        _load_modified(tmp_path, "value: 0.2, confidence: S", "value: -0.2, confidence: S")


def test_memory_and_scaling_files_strict(tmp_path):
    text = MEMORY_FILE.read_text().replace("hbm2e: {pJ_per_bit: 6.0,", "hbm2e: {pJ_per_bit: 6.0, colour: 1,")
    with pytest.raises(SimlowError, match=r"bad\.yaml: dram\.hbm2e\.colour: unknown key"):
        load_memory(_write(tmp_path, text))
    text = SCALING_FILE.read_text().replace("    16: 0.19\n", "    16: 0.19\n    16: 0.2\n")
    with pytest.raises(SimlowError, match="duplicate key 16"):
        load_scaling(_write(tmp_path, text, "s.yaml"))


def test_unreadable_file_is_a_simlow_error(tmp_path):
    with pytest.raises(SimlowError, match="cannot read"):
        load_primitives(tmp_path / "nope.yaml")


def test_library_ref_to_unknown_primitive_names_key(tmp_path):
    with pytest.raises(SimlowError, match=r"primitives\.shift\.library_ref\.primitive: reference primitive 'int_sub'"):
        _load_modified(tmp_path, "      primitive: int_add\n", "      primitive: int_sub\n")


def test_public_api_reexports():
    import simlow.cost as cost
    assert cost.price_counts({}, cost.Tech(28)).total_pJ == 0
    assert all(hasattr(cost, n) for n in cost.__all__)
