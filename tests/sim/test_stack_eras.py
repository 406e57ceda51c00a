"""Build eras of a stack (simlow.sim.eras): parsing builds, choosing the era of a row's
build, the YAML checks, eras' splits against their calibration text, and validate grouping
and calibration by era."""

from __future__ import annotations

import re
import shutil

import pytest

from simlow.errors import SimlowError
from simlow.sim.eras import parse_build
from simlow.sim.stack_load import CALIBRATED, load_stack, stack_names
from simlow.specs import names
from simlow.specs.registry import data_root
from simlow.validation import calibrate as C
from simlow.validation.measured import map_row
from simlow.validation.validate import case_stack, mapped_rows, split_of

_TRAIN = re.compile(r"from \d+ training rows \(groups: ([^)]*)\)")
_HELD = re.compile(r"held out \d+ rows \(groups: ([^)]*)\)")
CUDA_ERA = "b2795-b2843"


@pytest.mark.parametrize("text,build", [("4426e298 (b2824)", 2824), ("b6918", 6918), ("2f68ce7cf (b6918)", 6918),
                                        ("8cf6b42", None), ("", None), (None, None), ("ab2824", None)])
def test_parse_build(text, build):
    assert parse_build(text) == build


def test_the_era_of_a_build_and_the_newest_otherwise():
    cuda = load_stack("llama.cpp-cuda")
    old = cuda.at_build(2824)
    assert old.era == CUDA_ERA and old.label == f"llama.cpp-cuda@{CUDA_ERA}"
    assert cuda.at_build(2795) is old and cuda.at_build(2843) is old
    for build in (None, 2794, 2844, 6918):
        assert cuda.at_build(build) is cuda and cuda.at_build(build).label == "llama.cpp-cuda@newest"
    assert load_stack("llama.cpp-cuda@b2824") is old and load_stack(f"llama.cpp-cuda@{CUDA_ERA}") is old
    assert load_stack("llama.cpp-cuda@newest") is cuda and load_stack("llama.cpp-cuda@b6918") is cuda
    with pytest.raises(SimlowError, match=r"no era 'b1-b2'.*valid: newest, b<build number>, b2795-b2843"):
        load_stack("llama.cpp-cuda@b1-b2")


def test_an_era_changes_only_calibrated_constants():
    cuda = load_stack("llama.cpp-cuda")
    old = cuda.at_build(2824)
    fields = {"bandwidth", "compute_efficiency", "kernel_overhead_s", "step_overhead_s", "calibration",
              "matmul_unit_rate", "memory_unit_rate", "dequant_cost", "matmul_energy_J", "matmul_energy_scale", "matmul_tile_rows", "fitted_on",
              "era", "eras"}
    assert len(CALIBRATED) == 12
    for f in cuda.__dataclass_fields__:
        if f not in fields:
            assert getattr(old, f) == getattr(cuda, f), f
    assert old.kernel_overhead_s != cuda.kernel_overhead_s and old.eras == ()
    assert old.matmul_tile_rows == cuda.matmul_tile_rows     # not given by the era: the stack's
    assert old.memory_unit_rate is not None and cuda.memory_unit_rate is None


def _eras():
    for name in stack_names():
        for era in load_stack(name).eras:
            yield name, era


@pytest.mark.parametrize("name,era", list(_eras()), ids=[f"{n}@{e.builds}" for n, e in _eras()])
def test_era_fitted_on_agrees_with_its_calibration_text(name, era):
    fit = era.stack.fitted_on
    assert fit is not None, f"{name}@{era.builds} states no split"
    train, held = _TRAIN.search(era.stack.calibration), _HELD.search(era.stack.calibration)
    assert fit.train == frozenset(g.strip() for g in train[1].split(","))
    assert fit.held_out == frozenset(g.strip() for g in held[1].split(",") if g.strip() != "none")
    assert f"builds {era.builds} only" in era.stack.calibration
    assert fit.train | fit.held_out <= set(names("hardware"))


def _copy(tmp_path):
    path = tmp_path / "llama.cpp-cuda.yaml"
    shutil.copy(data_root() / "workloads" / "stacks" / "llama.cpp-cuda.yaml", path)
    return path


@pytest.mark.parametrize("old,new,match", [
    (f"- builds: {CUDA_ERA}", "- builds: b2843-b2795", r"eras\[0\]\.builds: 'b2843-b2795' is not a build range"),
    (f"- builds: {CUDA_ERA}", "- builds: 2795-2843", r"eras\[0\]\.builds: '2795-2843' is not a build range"),
    ("    dated: ", "    colour: red\n    dated: ", r"eras\[0\]\.colour: unknown key"),
    ("    kernel_overhead: 3.35 us", "    kernel_overhead: 3.35", r"eras\[0\]\.kernel_overhead"),
    ("    calibration: ", "    x_calibration: ", r"eras\[0\]\.calibration: missing required key"),
], ids=["reversed", "no-b", "unknown-key", "no-unit", "no-calibration"])
def test_bad_eras_are_refused_with_the_key(tmp_path, old, new, match):
    path = _copy(tmp_path)
    text = path.read_text()
    era_at = text.index("eras:")
    assert old in text[era_at:]
    path.write_text(text[:era_at] + text[era_at:].replace(old, new, 1))
    with pytest.raises(SimlowError, match=match):
        load_stack(str(path))


def test_overlapping_eras_are_refused(tmp_path):
    path = _copy(tmp_path)
    text = path.read_text()
    era = text[text.index(f"  - builds: {CUDA_ERA}"):]
    path.write_text(text + era.replace(CUDA_ERA, "b2800-b2900"))
    with pytest.raises(SimlowError, match=r"eras: eras b2795-b2843 and b2800-b2900 overlap"):
        load_stack(str(path))


def test_rows_carry_their_build_and_are_split_by_their_era():
    ok, _ = mapped_rows()
    series = [(r, c) for r, c in ok if r.source == "llamacpp_llama3_xiongjiedai_2024" and c.stack == "llama.cpp-cuda"]
    assert series and all(2795 <= c.build <= 2843 for _, c in series)
    for _, case in series:
        era = case_stack(case)
        assert era.era == CUDA_ERA
        assert split_of(case) == era.fitted_on.split_of(case.hw)
    board = next(c for r, c in ok if r.source.startswith("llamacpp_scoreboard_cuda"))
    assert board.build is None and case_stack(board).era == ""        # commit hash only: the newest


def test_calibration_fits_an_era_on_its_own_rows_only():
    ok, _ = mapped_rows()
    metal = load_stack("llama.cpp-metal")
    old = metal.eras[0].stack
    mine_old = C._mine("llama.cpp-metal", old, ok, C.EnergyMode.ABSOLUTE)
    mine_new = C._mine("llama.cpp-metal", metal, ok, C.EnergyMode.ABSOLUTE)
    assert mine_old and all(old.era == metal.at_build(c.build).era for _, c, _ in mine_old)
    assert mine_new and all(c.build is None or not metal.eras[0].covers(c.build) for _, c, _ in mine_new)
    assert len(mine_old) + len(mine_new) == sum(c.stack == "llama.cpp-metal" and c.mapping != "size_matched"
                                                for _, c in ok)


def test_the_memory_ceiling_binds_where_memory_is_fast_next_to_units_x_clock():
    """memory_unit_rate x units x clock caps every bandwidth fraction (simlow.sim.machine):
    an A100 (108 SMs at 1.41 GHz, 1.94 TB/s) gets a lower fraction than an RTX 4090 (128
    at 2.52 GHz, 1.01 TB/s), and decode time follows the capped bandwidth."""
    from simlow.sim.machine import bandwidth_fractions, pick_engine
    from simlow.specs import load_hw
    import simlow

    old = load_stack("llama.cpp-cuda@b2824")
    for name, capped in (("a100-80gb-pcie", True), ("rtx-4090", False)):
        hw = load_hw(name)
        eng = pick_engine(hw, old)
        bw = hw.memory(eng.memory).bandwidth_Bps
        frac = bandwidth_fractions(old, eng, bw)
        want = min(old.bandwidth["matmul"], old.memory_unit_rate * eng.units * eng.clock_hz / bw)
        assert frac["matmul"] == pytest.approx(want, rel=1e-12)
        assert (frac["matmul"] < old.bandwidth["matmul"]) is capped
    from dataclasses import replace
    uncapped = replace(old, memory_unit_rate=None)
    a = simlow.predict("llama-3-8b", "a100-80gb-pcie", scheme="f16", batch=1, prompt=0, gen=16, stack=old)
    b = simlow.predict("llama-3-8b", "a100-80gb-pcie", scheme="f16", batch=1, prompt=0, gen=16, stack=uncapped)
    assert a.decode_tok_s < 0.7 * b.decode_tok_s


def test_calibration_time_equals_the_roofline_at_an_era_with_the_memory_ceiling():
    """calibrate's regrouped terms (with step overhead and the memory ceiling) give
    simlow.predict's figure for rows of an era, on a board where the ceiling binds."""
    from simlow.validation.validate import predicted_rate

    ok, _ = mapped_rows()
    old = load_stack("llama.cpp-cuda@b2824")
    cases = [c for _, c in ok if c.stack == "llama.cpp-cuda" and c.build is not None and old.eras == ()
             and load_stack("llama.cpp-cuda").at_build(c.build) is old and c.hw in ("a100-80gb-pcie", "rtx-4090")]
    assert {c.metric for c in cases} == {"decode", "prefill"}
    theta = C._theta(C._start(old, C.EnergyMode.ABSOLUTE))
    assert theta[6] > 0 and theta[7] < 1000          # a step overhead and a binding memory ceiling
    for case in [c for c in cases if c.hw == "a100-80gb-pcie"][:6] + [c for c in cases if c.hw == "rtx-4090"][:4]:
        fitted_form = C.predicted(case, C.row_terms(case, old), theta, C.unfitted_efficiency(old))
        assert fitted_form == pytest.approx(predicted_rate(case, old)[0], rel=1e-9), case


def test_dequant_cost_makes_metal_prefill_depend_on_the_weight_format():
    """dequant_cost adds the unpacking of quantized weights to their matmuls (prefill), not
    to F16's, and leaves a stack without it as it was."""
    import simlow
    from simlow.sim.machine import dequant_factor
    from simlow.specs import load_model, load_scheme
    from simlow.workload.templates import templates

    metal, cuda = load_stack("llama.cpp-metal"), load_stack("llama.cpp-cuda")
    temps, _ = templates(load_model("llama-2-7b"), load_scheme("q4_0"))
    mm = next(t for t in temps if t.op_class.value == "matmul" and t.weight_format == "q4_0")
    assert dequant_factor(metal, mm) == pytest.approx(1 + metal.compute_efficiency["matmul"] * metal.dequant_cost)
    assert dequant_factor(cuda, mm) == 1.0
    f16 = simlow.predict("llama-2-7b", "m2-ultra", scheme="f16", prompt=512, gen=0, stack=metal).prefill_tok_s
    q4 = simlow.predict("llama-2-7b", "m2-ultra", scheme="q4_0", prompt=512, gen=0, stack=metal).prefill_tok_s
    assert q4 < 0.95 * f16
