"""The PoT-vs-INT MAC comparison: consistent with the unit model, assumptions stated."""

from __future__ import annotations

import dataclasses
import json

import pytest

from simlow.cli import main
from simlow.cost.maccompare import CLAIM_AREA_RATIO, CLAIM_CLOCK_RATIO, IntStyle, compare_macs
from simlow.cost.pricing import Tech
from simlow.cost.scaling import ScalingRule
from simlow.cost.macs import IntMac, pot_mac_for_code, unit_cost
from simlow.errors import SimlowError


@pytest.fixture(scope="module")
def res():
    return compare_macs(Tech(28))


def test_ratios_are_the_unit_model_ratios(res):
    t = Tech(28)
    int8 = unit_cost(IntMac(8, 8, 24), t)          # 8x8 product + 8 guard bits
    pot4 = unit_cost(pot_mac_for_code(4, 8, 8 + 6 + 1 + 8), t)
    r = next(x for x in res.ratios if x.design == "PoT4" and x.baseline == "INT8")
    assert r.area_ratio_same_clock == pytest.approx(pot4.area_um2 / int8.area_um2)
    assert r.clock_ratio == pytest.approx(pot4.fmax_Hz / int8.fmax_Hz)
    assert r.area_ratio_equal_throughput_own_clock == pytest.approx(r.area_ratio_same_clock / r.clock_ratio)
    assert r.energy_ratio == pytest.approx(pot4.energy_pJ_per_op / int8.energy_pJ_per_op)
    assert r.claim_area_met_same_clock == (r.area_ratio_same_clock <= CLAIM_AREA_RATIO)
    assert r.claim_clock_met == (r.clock_ratio >= CLAIM_CLOCK_RATIO)


def test_every_pairing_present_and_arrays_meet_throughput(res):
    assert {(r.design, r.baseline) for r in res.ratios} == {
        (d, b) for d in ("PoT3", "PoT3+residual", "PoT4", "PoT4+residual") for b in ("INT4", "INT8")}
    for row in res.rows:
        f = row.fmax_GHz * 1e9
        assert row.units_for_throughput * f >= res.throughput_macs_per_s * (1 - 1e-12)
        assert (row.units_for_throughput - 1) * f < res.throughput_macs_per_s
    assert res.rows[0].name == "INT8" and res.rows[0].units_for_throughput == 4096


def test_residual_term_costs_area_and_clock(res):
    rows = {r.name: r for r in res.rows}
    for code in ("PoT3", "PoT4"):
        assert rows[f"{code}+residual"].area_um2 > rows[code].area_um2
        assert rows[f"{code}+residual"].fmax_GHz < rows[code].fmax_GHz


def test_parameters_change_the_answer(res):
    a4 = compare_macs(Tech(28), act_bits=4)
    assert a4.rows[0].area_um2 < res.rows[0].area_um2
    wide = compare_macs(Tech(28), acc_bits=32)
    assert all(r.acc_bits == 32 for r in wide.rows)
    unfused = compare_macs(Tech(28), int_style=IntStyle.UNFUSED)
    assert unfused.rows[0].fmax_GHz < res.rows[0].fmax_GHz
    assert compare_macs(Tech(28, ScalingRule.JOUPPI7)).rule == "jouppi7"


def test_result_is_frozen_and_states_assumptions(res):
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.node_nm = 7  # type: ignore[misc]
    text = " ".join(res.assumptions)
    for word in ("activations", "accumulator", "weight-stationary", "FO4", "Stillmaker", "not measurements"):
        assert word in text
    json.dumps(res.to_dict())


def test_bad_arguments():
    with pytest.raises(SimlowError):
        compare_macs(Tech(28), array_macs=0)
    with pytest.raises(SimlowError, match="IntStyle"):
        compare_macs(Tech(28), int_style="fused")  # type: ignore[arg-type]


def test_cli_views(capsys):
    assert main(["cost", "compare-macs", "--node", "28nm", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["node_nm"] == 28 and len(data["ratios"]) == 8
    assert main(["cost", "compare-macs", "--node", "28nm"]) == 0
    out = capsys.readouterr().out
    assert "assumptions:" in out and "PoT4" in out
    assert main(["cost", "table", "--node", "16nm", "--rule", "jouppi7", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["node_nm"] == 16 and table["rule"] == "jouppi7"
    assert main(["cost", "table", "--node", "28nm", "--rule", "both", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("node_nm,rule,primitive") and sum(1 for x in lines if x.startswith("node_nm")) == 1
    assert main(["cost", "table", "--node", "2nm"]) == 2
    assert "out of range" in capsys.readouterr().err
