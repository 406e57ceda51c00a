from pathlib import Path

import pytest

from simlow.errors import SimlowError
from simlow.sweep import load_sweep

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "workloads" / "sweeps").glob("*.yaml"))


def test_points_are_the_product_first_axis_slowest(small_sweep):
    s = load_sweep(small_sweep)
    pts = s.points()
    assert s.size == len(pts) == 24
    assert pts[0] == {"model": "llama-2-7b", "kv_scheme": "kv-f16", "ctx": 2048, "hw": "rtx-4060ti-16gb", "scheme": "q4_0"}
    assert pts[1]["ctx"] == 4096 and pts[4]["kv_scheme"] == "kv-q8_0" and pts[12]["model"] == "llama-3.1-8b"
    assert s.columns[:6] == ("index", "model", "kv_scheme", "ctx", "hw", "scheme") and s.columns[-1] == "error"


def test_id_changes_with_any_point(tmp_path, write_sweep):
    a = load_sweep(write_sweep(tmp_path / "a.yaml", {"ctx": [1, 2]}, {"model": "llama-2-7b", "hw": "h100-sxm"}))
    b = load_sweep(write_sweep(tmp_path / "b.yaml", {"ctx": [1, 3]}, {"model": "llama-2-7b", "hw": "h100-sxm"}))
    c = load_sweep(write_sweep(tmp_path / "c.yaml", {"ctx": [1, 2]}, {"model": "llama-2-7b", "hw": "h100-sxm"}, name="x"))
    assert a.id != b.id and a.id == c.id          # the name is a label, not part of the points


@pytest.mark.parametrize("axes, fixed, extra, message", [
    ({"ctx": [1]}, {"model": "llama-2-7b", "hw": "h100-sxm"}, {"colour": 1}, "colour: unknown key"),
    ({"prompt": [1]}, {"model": "llama-2-7b", "hw": "h100-sxm"}, {}, "'fit' takes no setting 'prompt'"),
    ({"model": ["llama-2-7bb"]}, {"hw": "h100-sxm"}, {}, "axes.model: item 0: unknown model 'llama-2-7bb'; did you mean llama-2-7b"),
    ({"ctx": [1, 1]}, {"model": "llama-2-7b", "hw": "h100-sxm"}, {}, "axes.ctx: repeats a value"),
    ({"ctx": []}, {"model": "llama-2-7b", "hw": "h100-sxm"}, {}, "at least one value"),
    ({"ctx": ["4k"]}, {"model": "llama-2-7b", "hw": "h100-sxm"}, {}, "expected a whole number"),
    ({"hw": ["h100-sxm"]}, {"model": "llama-2-7b", "hw": "h100-sxm"}, {}, "axes.hw: is both fixed and an axis"),
    ({"ctx": [1]}, {"model": "llama-2-7b"}, {}, "'fit' needs hw"),
])
def test_bad_sweep_files_name_the_key(tmp_path, write_sweep, axes, fixed, extra, message):
    path = write_sweep(tmp_path / "bad.yaml", axes, fixed, **extra)
    with pytest.raises(SimlowError, match="bad.yaml") as err:
        load_sweep(path)
    assert message in str(err.value)


def test_bad_version_and_evaluator(tmp_path, write_sweep):
    with pytest.raises(SimlowError, match="evaluate: 'npu9' is not one of fit, predict"):
        load_sweep(write_sweep(tmp_path / "e.yaml", {"ctx": [1]}, {"model": "llama-2-7b", "hw": "h100-sxm"}, "npu9"))
    p = tmp_path / "v.yaml"
    p.write_text("sweep: 2\nname: v\nevaluate: fit\naxes: {ctx: [1]}\n")
    with pytest.raises(SimlowError, match="schema version 2"):
        load_sweep(p)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_sweeps_load(path):
    assert load_sweep(path).size >= 2
