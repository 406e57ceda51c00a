"""A stack's calibration split is data (``fitted_on``), consistent with its prose, and
files are re-read when edited (no stale memo)."""

from __future__ import annotations

import re
import shutil

import pytest

from simlow.errors import SimlowError
from simlow.sim.stacks import FitSplit, GroupBy
from simlow.sim.stack_load import load_stack, stack_names
from simlow.specs import load_hw, names
from simlow.specs.registry import data_root

_TRAIN = re.compile(r"from \d+ training rows \(groups: ([^)]*)\)")
_HELD = re.compile(r"held out \d+ rows \(groups: ([^)]*)\)")
_KIND = {GroupBy.HW: "hardware", GroupBy.MODEL: "model", GroupBy.SCHEME: "scheme"}


def _groups(text: str) -> frozenset[str]:
    return frozenset(g.strip() for g in text.split(",") if g.strip() and g.strip() != "none")


@pytest.mark.parametrize("name", stack_names())
def test_fitted_on_agrees_with_the_calibration_text(name):
    stack = load_stack(name)
    train, held = _TRAIN.search(stack.calibration), _HELD.search(stack.calibration)
    if stack.fitted_on is None:
        assert train is None, f"{name}: the calibration text states a fit but fitted_on is missing"
        return
    assert stack.fitted_on.train == _groups(train[1])
    assert stack.fitted_on.held_out == _groups(held[1])
    assert stack.fitted_on.train | stack.fitted_on.held_out <= set(names(_KIND[stack.fitted_on.by]))


def test_split_of():
    split = FitSplit(GroupBy.HW, frozenset({"a"}), frozenset({"b"}))
    assert split.split_of("a") == "in-sample"
    assert split.split_of("b") == "held-out" and split.split_of("never-seen") == "held-out"


def _stack_copy(tmp_path, name="lmdeploy"):
    path = tmp_path / f"{name}.yaml"
    shutil.copy(data_root() / "workloads" / "stacks" / f"{name}.yaml", path)
    return path


@pytest.mark.parametrize("edit,match", [
    ("  by: hw\n", "  by: device\n", ),
    ("  train: [a100-80gb-sxm]\n", "  train: []\n"),
    ("  held_out: []\n", "  held_out: [a100-80gb-sxm]\n"),
], ids=["bad-by", "empty-train", "overlap"])
def test_bad_fitted_on_is_refused_with_the_key(tmp_path, edit, match):
    path = _stack_copy(tmp_path)
    text = path.read_text()
    assert edit in text
    path.write_text(text.replace(edit, match))
    with pytest.raises(SimlowError, match=r"fitted_on\.(by|train|held_out)"):
        load_stack(str(path))


def test_an_edited_file_is_read_again(tmp_path):
    path = _stack_copy(tmp_path)
    before = load_stack(str(path))
    path.write_text(path.read_text().replace("kernel_overhead:", "kernel_overhead: 99 us\nx_old_kernel_overhead:", 1))
    with pytest.raises(SimlowError, match="x_old_kernel_overhead"):
        load_stack(str(path))
    hw = tmp_path / "rtx-4090.yaml"
    shutil.copy(data_root() / "hwspecs" / "rtx-4090.yaml", hw)
    title = load_hw(str(hw)).title
    hw.write_text(hw.read_text().replace(f"title: {title}", "title: edited title", 1))
    assert load_hw(str(hw)).title == "edited title"
    assert before.name == "lmdeploy"


def test_same_size_edits_in_one_clock_tick_are_read_again(tmp_path):
    """The memo keys by the bytes, not by a stamp: rewrites of the same length in quick
    succession are each parsed."""
    from simlow.cost.primitives import PRIMITIVES_FILE, load_primitives

    path = tmp_path / "p.yaml"
    text = PRIMITIVES_FILE.read_text()
    assert "value: 0.2, confidence: S" in text
    values = []
    for v in ("0.2", "0.3", "0.4"):
        path.write_text(text.replace("value: 0.2, confidence: S", f"value: {v}, confidence: S", 1))
        table = load_primitives(path)
        values.append(table)
    assert values[0] != values[1] != values[2]
