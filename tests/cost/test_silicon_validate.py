"""``simlow cost validate``: the cost model against published silicon (silicon_published.csv)."""

import json
import statistics

import pytest

from simlow.cli import main
from simlow.cost.pricing import Tech, area_um2
from simlow.cost.widthmodel import Shape
from simlow.errors import SimlowError
from simlow.npu.data import load_npu_data
from simlow.validation import silicon_rules as R
from simlow.validation.silicon import Role, component, read_published, validate_silicon


def test_every_rule_names_a_row_of_the_table():
    keys = {(r.chip, r.figure) for r in read_published()}
    missing = [(r.chip, r.figure) for r in R.RULES if (r.chip, r.figure) not in keys]
    assert missing == []


def test_every_row_is_predicted_or_has_a_reason():
    rep = validate_silicon()
    rows = read_published()
    predicted = {(c.chip, c.figure.split(" [")[0]) for c in rep.checks}
    for r in rows:
        assert (r.chip, r.figure) in predicted or any(u.chip == r.chip and u.figure == r.figure and u.reason
                                                      for u in rep.unpredicted)


def test_composite_values_are_split_and_checked():
    row = next(r for r in read_published() if r.figure == "32b int add / 32b int mult")
    assert [component(row, i) for i in range(4)] == [0.1, 137.0, 3.1, 3495.0]
    with pytest.raises(SimlowError, match="no part 5"):
        component(row, 4)


def test_anchor_rows_reproduce_their_anchor_and_held_out_rows_are_independent():
    rep = validate_silicon()
    hz = [c for c in rep.checks if c.chip.startswith("Horowitz") and c.kind.value != "SRAM access energy"]
    assert hz and all(c.role is Role.ANCHOR and c.predicted == pytest.approx(c.published) for c in hz)
    # the Horowitz SRAM reads are held out against the macro model (fitted on CACTI macros, not on them)
    sram = [c for c in rep.checks if c.chip.startswith("Horowitz") and c.kind.value == "SRAM access energy"]
    assert len(sram) == 3 and all(c.role is Role.HELD_OUT and "simlow.cost.sram" in c.how for c in sram)
    evo = next(c for c in rep.checks if "mul8u_1JFF" in c.chip and c.kind.value == "unit area")
    # the model's own 8x8 multiplier area at 45 nm x the standard-cell factor fitted on these rows
    k = load_npu_data().logic_area_factor.value
    assert evo.role is Role.FITTED and evo.published == 709.6
    assert evo.predicted == area_um2(Tech(45), "int_mul", Shape(width=8, width2=8)).value * k


def test_logic_area_factor_is_the_median_over_the_evoapprox_rows_it_says_it_was_fitted_on():
    rep = validate_silicon()
    k = load_npu_data().logic_area_factor.value
    evo = [c for c in rep.checks if c.chip.startswith("EvoApprox") and c.kind.value == "unit area"]
    assert len(evo) == 16 and all(c.role is Role.FITTED for c in evo)
    assert statistics.median(c.published / (c.predicted / k) for c in evo) == pytest.approx(k, rel=2e-3)
    # held out: the Aladdin 40 nm multiplier and adder areas are not fitted
    al = [c for c in rep.checks if c.chip.startswith("Aladdin") and c.kind.value == "unit area"
          and c.role is Role.HELD_OUT]
    assert len(al) == 2


def test_summary_counts_only_held_out_rows():
    rep = validate_silicon()
    s = rep.summary()
    assert s["clock_rows"] == len([c for c in rep.checks if c.role is Role.HELD_OUT and c.kind.value == "clock"])
    assert s["chip_area_rows"] >= 1


def test_bad_table_names_file_and_column(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("chip,figure,value\nx,y,1\n")
    with pytest.raises(SimlowError, match="missing column"):
        validate_silicon(p)
    assert main(["cost", "validate", "--file", str(tmp_path / "none.csv")]) == 2


def test_cli_json(capsys):
    assert main(["cost", "validate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"checks", "unpredicted", "fitted", "summary"} <= set(out)
    assert all(c["source"] for c in out["checks"])


def test_the_fitted_rows_are_the_floor_clock_and_the_evoapprox_areas_and_are_out_of_the_summary():
    rep = validate_silicon()
    fitted = [(c.chip, c.figure) for c in rep.checks if c.role is Role.FITTED]
    assert ("TPUv1", "clock") in fitted
    assert all(chip == "TPUv1" or chip.startswith("EvoApprox") for chip, _ in fitted)
    assert len(fitted) == 17
    held = rep.held_out(*{c.kind for c in rep.checks})
    assert all(c.chip != "TPUv1" or c.kind.value != "clock" for c in held)
    assert ("Eyeriss v1", "core clock range [top of range]") in [(c.chip, c.figure) for c in held]


def test_chip_clock_inputs_come_from_the_chips_rows():
    rows = {(r.chip, r.figure): r for r in read_published()}
    supply = rows[("Eyeriss v1", "core supply range")]
    assert R.EYERISS.vdd_V == float(supply.value.split("-")[1])            # the top of the published range
    assert R.EYERISS.bank_bytes == 512 * 64 // 8                           # 512 x 64-bit banks
    assert ("Eyeriss v1", "PE pipeline") in rows and ("DianNao (ASPLOS 2014)", "NFU pipeline") in rows
    assert rows[("DianNao (ASPLOS 2014)", "NFU pipeline")].confidence == "R"   # recalled, tagged so
    assert R.TPU1.vdd_V is None and R.TPU1.logic_stages == 1              # TPU v1 publishes neither


def test_eyeriss_storage_share_is_the_inventory_storage_over_the_on_chip_area():
    from simlow.npu.design import evaluate
    check = next(c for c in validate_silicon().checks if c.figure.startswith("area share of on-chip storage"))
    a = evaluate(R.EYERISS).area_mm2
    assert check.predicted == pytest.approx(100 * (a["sram"] + a["register_files"]) / a["on_chip"])
    assert check.published == 67 and check.role is Role.HELD_OUT
