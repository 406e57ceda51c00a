"""Pricing events: hand-built counts equal hand-computed sums; tables dump and diff."""

from __future__ import annotations

import csv
import io
import json

import pytest

from simlow.cost.pricing import Tech, area_um2, energy_pJ, event_energy_pJ, price_components, price_counts
from simlow.cost.scaling import NODES_NM, ScalingRule, area_factor, jouppi_energy_factor, stillmaker_energy_factor
from simlow.cost.techtable import technology_table
from simlow.cost.widthmodel import Shape
from simlow.errors import SimlowError
from simlow.events import Event, Op


def test_hand_built_counts_equal_hand_computed_sum():
    # 28 nm, Stillmaker: every figure below is computed by hand from the 45 nm anchors.
    s = stillmaker_energy_factor(28)
    counts = {
        Event(Op.INT_MUL, 8, 8): 1000,     # exact anchor 0.2 pJ
        Event(Op.INT_ADD, 32): 1000,       # exact anchor 0.1 pJ
        Event(Op.INT_ADD, 24): 10,         # halfway between 16b (0.05) and 32b (0.1): 0.075
        Event(Op.INT_MUL, 4, 8): 100,      # 8x8 anchor x (32/64): 0.1
        Event(Op.REG_WRITE, 16): 50,       # 16 x 0.009 x (0.1 / 0.21)
        Event(Op.SKIP): 7,                 # bookkeeping: 0
    }
    by_hand = s * (1000 * 0.2 + 1000 * 0.1 + 10 * 0.075 + 100 * 0.1 + 50 * 16 * 0.009 * 0.1 / 0.21)
    priced = price_counts(counts, Tech(28))
    assert priced.total_pJ == pytest.approx(by_hand, rel=1e-12)
    assert len(priced.rows) == len(counts)
    skip = next(r for r in priced.rows if r.event == "skip")
    assert skip.energy_pJ == 0 and skip.count == 7


def test_components_sum_to_total_and_rows_carry_basis():
    comps = {"mac": {Event(Op.INT_MUL, 8, 8): 4}, "acc": {Event(Op.INT_ADD, 32): 4}}
    p = price_components(comps, Tech(45))
    assert p.component_pJ() == pytest.approx({"acc": 0.4, "mac": 0.8})
    assert p.total_pJ == pytest.approx(1.2)
    assert all(r.basis and r.confidence for r in p.rows)


def test_jouppi_rule_prices_fp32_anchor_with_its_own_row():
    e16 = energy_pJ(Tech(7, ScalingRule.JOUPPI7), "fp_add", Shape(fmt="fp16")).value
    e32 = energy_pJ(Tech(7, ScalingRule.JOUPPI7), "fp_add", Shape(fmt="fp32")).value
    assert e16 == pytest.approx(0.16) and e32 == pytest.approx(0.38)
    # tf32 (19 bits) lies between: interpolated in width between the two re-measured points
    tf = energy_pJ(Tech(7, ScalingRule.JOUPPI7), "fp_add", Shape(fmt="tf32")).value
    assert tf == pytest.approx(0.16 + (19 - 16) / 16 * (0.38 - 0.16))


def test_sram_has_no_tpu_row_and_falls_back():
    e = energy_pJ(Tech(7, ScalingRule.JOUPPI7), "sram_read", Shape(width=64, capacity_bytes=8192))
    assert e.value == pytest.approx(10 * stillmaker_energy_factor(7))
    assert "no TPUv4i row" in e.basis


def test_fma_and_lut_read():
    t = Tech(45)
    fma = event_energy_pJ(t, Event(Op.FP_FMA, fmt="fp16")).value
    assert fma == pytest.approx(1.1 + 0.4)
    lut = event_energy_pJ(t, Event(Op.LUT_READ, 8, 16)).value
    assert lut == pytest.approx(8 * 15 * 0.0181 / 32 * 0.1 / 0.21)
    with pytest.raises(SimlowError, match="lut_read needs"):
        event_energy_pJ(t, Event(Op.LUT_READ, 8, 1))


def test_area_scales_by_stillmaker_area_factor_and_sram_area_refused():
    for n in NODES_NM:
        a = area_um2(Tech(n), "int_mul", Shape(8, 8)).value
        assert a == pytest.approx(282 * area_factor(n))
    with pytest.raises(SimlowError, match="no published area for sram_read"):
        area_um2(Tech(28), "sram_read", Shape(width=64, capacity_bytes=8192))


def test_energy_monotone_in_node_for_every_table_row():
    for rule in ScalingRule:
        per_node = [technology_table(Tech(n, rule)).rows for n in NODES_NM]
        for i in range(len(per_node[0])):
            vals = [rows[i].energy_pJ for rows in per_node]
            assert all(a > b for a, b in zip(vals, vals[1:])), (rule, per_node[0][i].primitive, vals)
            areas = [rows[i].area_um2 for rows in per_node]
            if areas[0] is not None:
                assert all(a > b for a, b in zip(areas, areas[1:]))


def test_table_dumps_are_stable_text():
    t = technology_table(Tech(28, ScalingRule.JOUPPI7))
    j = t.to_json()
    assert j == technology_table(Tech(28, ScalingRule.JOUPPI7)).to_json()
    data = json.loads(j)
    assert data["node_nm"] == 28 and data["rule"] == "jouppi7"
    assert {i["name"] for i in data["interfaces_pJ_per_bit"]} >= {"hbm3", "lpddr5x", "pcie_gen5"}
    rows = list(csv.DictReader(io.StringIO(t.to_csv())))
    assert len(rows) == len(t.rows) and rows[0]["primitive"] == "int_add"
    int8 = next(r for r in t.rows if r.primitive == "int_add" and r.shape == "8b")
    assert int8.energy_pJ == pytest.approx(0.03 * jouppi_energy_factor(28, "int8_add"))


def test_tech_rejects_bad_node_and_string_rule():
    with pytest.raises(SimlowError, match="out of range"):
        Tech(130)
    with pytest.raises(SimlowError, match="ScalingRule"):
        Tech(28, "stillmaker")  # type: ignore[arg-type]
