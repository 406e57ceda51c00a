"""The SRAM macro model (simlow.cost.sram): fitted on its CACTI rows, monotone, scaled by node."""

import math

import pytest

from simlow.cost import sram as S
from simlow.cost.scaling import delay_factor, stillmaker_energy_factor
from simlow.errors import SimlowError


def test_fit_is_recomputed_from_the_rows_and_reproduces_them_within_its_stated_residuals():
    f = S.fit()
    rows = S.load_sram().rows
    assert len(f.residuals) == len(rows) == 5
    for r, (_, ea, ee, et) in zip(rows, f.residuals):
        m = S.macro_cost(S.Macro(r.words * r.bits // 8, r.bits, 45), 1.0, f) if r.bits % 8 == 0 else None
        if m is not None:   # whole-byte macros: the model at 45 nm is the fit evaluated at the row
            assert m.area_um2 == pytest.approx(r.area_um2 * (1 + ea))
            assert m.read_pJ * 1e3 == pytest.approx(r.access_fJ * (1 + ee))
            assert m.access_ps / 1e3 == pytest.approx(r.access_ns * (1 + et))
        assert max(abs(ea), abs(ee), abs(et)) < 0.25
    assert all(v > 0 for v in (f.area_bit_um2, f.area_edge_um2, f.e_bit_fJ, f.e_wire_fJ, f.t0_ns, f.t1_ns,
                               f.leak_W_per_mm2))


def test_bigger_macros_cost_more_per_access_and_less_area_per_bit():
    small, big = (S.macro_cost(S.Macro(cap, 64, 28), 0.52) for cap in (8192, 1 << 20))
    assert big.read_pJ > small.read_pJ and big.access_ps > small.access_ps
    assert big.area_um2 / (1 << 20) < small.area_um2 / 8192
    # banking a buffer cuts the access energy and time of one bank, and costs periphery area
    banked = S.macro_cost(S.Macro(1 << 20, 64, 28, banks=32), 0.52)
    assert banked.read_pJ < big.read_pJ and banked.access_ps < big.access_ps and banked.area_um2 > big.area_um2


def test_node_scaling_follows_the_stated_rules():
    f = S.load_fit()
    r = 0.027 / 0.244
    m = S.macro_cost(S.Macro(32768, 64, 7), r)
    words = 32768 * 8 / 64
    e = 64 * (f.e_bit_fJ * stillmaker_energy_factor(7) + f.e_wire_fJ * math.sqrt(r * words)) / 1e3
    t = (f.t0_ns * delay_factor(7) + f.t1_ns * math.sqrt(r * 32768 * 8)) * 1e3
    assert m.read_pJ == pytest.approx(e) and m.access_ps == pytest.approx(t)
    assert m.leakage_W == pytest.approx(f.leak_W_per_mm2 * m.area_um2 / 1e6)


def test_bad_macros_are_refused():
    for kw in ({"capacity_bytes": 0, "width_bits": 64, "node_nm": 28}, {"capacity_bytes": 4, "width_bits": 64,
               "node_nm": 28}, {"capacity_bytes": 4096, "width_bits": 64, "node_nm": 2}):
        with pytest.raises(SimlowError):
            S.Macro(**kw)
    with pytest.raises(SimlowError, match="cell_ratio"):
        S.macro_cost(S.Macro(4096, 64, 28), 0.0)


def test_a_bad_table_names_the_file_and_key(tmp_path):
    p = tmp_path / "sram.yaml"
    p.write_text("version: 1\ncacti45: {source: x, confidence: V, node_nm: 28, macros: []}\n")
    with pytest.raises(SimlowError, match="macros"):
        S.load_sram(p)
