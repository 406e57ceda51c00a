"""The design clock model (simlow.cost.clock) and its use by NPU designs (issue 14 item 1)."""

import json

import pytest

from simlow.cli import main
from simlow.cost import clock as C
from simlow.cost import delay as D
from simlow.cost.macs import FpMac, IntMac, unit_cost
from simlow.cost.pricing import Tech
from simlow.cost.scaling import fo4_ps


def test_the_fitted_floor_reproduces_its_one_row_and_nothing_else_is_fitted():
    assert C.FIT_ROWS == (("TPUv1", "clock", 700e6, 28),)
    assert C.FLOOR_FO4 * fo4_ps(28) * C.CORNER_DERATE == pytest.approx(1e12 / 700e6)
    uc = unit_cost(IntMac(8, 8, 32), Tech(28))
    dc = C.design_clock(uc.path_fo4, 28)
    assert dc.bound == "floor" and dc.clock_Hz == pytest.approx(700e6)
    assert dc.fmax_Hz == pytest.approx(uc.fmax_Hz)
    assert C.FLOOR_FO4 > 0
    # the floor is a fixed count of FO4: it scales with gate delay alone (Eyeriss v1's node is held out)
    assert C.design_clock(uc.path_fo4, 65).floor_cycle_ps / dc.floor_cycle_ps == pytest.approx(fo4_ps(65) / fo4_ps(28))


def test_logic_cycle_is_path_plus_overheads_and_can_bind():
    uc = unit_cost(FpMac("fp32", "fp32"), Tech(45))
    dc = C.design_clock(uc.path_fo4, 45)
    expect = (uc.path_fo4 - D.T_SEQ + C.REG_OVERHEAD_FO4) * fo4_ps(45) / (1 - C.SKEW_FRACTION) * C.CORNER_DERATE
    assert dc.logic_cycle_ps == pytest.approx(expect)
    assert dc.clock_Hz == pytest.approx(1e12 / max(dc.logic_cycle_ps, dc.floor_cycle_ps))
    for path in (10.0, 29.5, 94.0, 200.0):
        assert C.design_clock(path, 28).clock_Hz < C.design_clock(path, 28).fmax_Hz
    long = C.design_clock(400.0, 7)
    assert long.bound == "logic" and long.clock_Hz == pytest.approx(1e12 / long.logic_cycle_ps)


def test_a_slow_sram_macro_bounds_the_cycle():
    uc = unit_cost(IntMac(8, 8, 32), Tech(7))
    fast = C.design_clock(uc.path_fo4, 7)
    slow = C.design_clock(uc.path_fo4, 7, sram_access_ps=2000.0)
    assert fast.sram_cycle_ps == 0.0 and fast.bound != "SRAM access"
    expect = (2000.0 + C.REG_OVERHEAD_FO4 * fo4_ps(7)) / (1 - C.SKEW_FRACTION) * C.CORNER_DERATE
    assert slow.bound == "SRAM access" and slow.clock_Hz == pytest.approx(1e12 / expect)
    assert slow.fmax_Hz == fast.fmax_Hz


def test_every_constant_has_a_source():
    assert set(C.SOURCES) == {"reg_overhead_fo4", "skew_fraction", "corner_derate", "sram_access", "floor"}
    assert all(C.SOURCES.values())


def test_npu_show_reports_clock_and_fmax_and_takes_an_override(capsys):
    args = ["npu", "show", "--unit", "int8", "--array", "2x32x32", "--sram", "512KiB", "--node", "28nm", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["clock_Hz"] == pytest.approx(700e6) and out["fmax_Hz"] > 2e9   # floor-bound at 28 nm
    assert main(args + ["--clock", "1.2GHz"]) == 0
    out2 = json.loads(capsys.readouterr().out)
    assert out2["clock_Hz"] == pytest.approx(1.2e9) and out2["fmax_Hz"] == out["fmax_Hz"]
    assert out2["peak_ops"]["int8"] == pytest.approx(2 * 2048 * 1.2e9)
    assert main(args + ["--clock", "fast"]) == 2


def test_npu_show_dram_none_is_the_on_chip_design(capsys):
    args = ["npu", "show", "--unit", "int8", "--array", "2x32x32", "--sram", "512KiB", "--node", "28nm", "--json"]
    assert main(args) == 0
    full = json.loads(capsys.readouterr().out)
    assert main(args + ["--dram", "none"]) == 0
    chip = json.loads(capsys.readouterr().out)
    assert chip["area_mm2"]["dram_phy"] == 0.0 and full["area_mm2"]["dram_phy"] > 0
    assert chip["area_mm2"]["total"] == pytest.approx(full["area_mm2"]["on_chip"])
    assert chip["tdp_parts_W"]["dram"] == 0.0 and chip["power_full_activity_W"] < full["power_full_activity_W"]
    assert chip["spec"] is None and chip["dram"] == "none"
    assert main(args[:-1] + ["--dram", "none", "--yaml"]) == 2


def _fit_row(node):
    """The Stillmaker delay row of ``node`` read straight from scaling.yaml (an independent oracle)."""
    import yaml
    from simlow.cost.scaling import SCALING_FILE
    r = yaml.safe_load(open(SCALING_FILE))["stillmaker"]["delay"][node]
    return (lambda v: ((r["a"] * v + r["b"]) * v + r["c"]) * v + r["d"]), r["vdd_V"]


def test_a_design_supply_scales_gate_delay_by_the_delay_fit():
    from simlow.cost.scaling import vdd_delay_ratio
    fit, nominal = _fit_row(65)
    assert vdd_delay_ratio(65, nominal) == pytest.approx(1.0)
    assert vdd_delay_ratio(65, 1.17) == pytest.approx(fit(1.17) / fit(nominal))
    assert vdd_delay_ratio(65, 1.17) < 1 < vdd_delay_ratio(65, 0.9)      # a higher supply is faster
    assert fo4_ps(65, vdd_V=1.17) == pytest.approx(fo4_ps(65) * fit(1.17) / fit(nominal))
    uc = unit_cost(IntMac(16, 16, 48), Tech(65))
    nom, hot = C.design_clock(uc.path_fo4, 65, 300.0), C.design_clock(uc.path_fo4, 65, 300.0, vdd_V=1.17)
    r = fit(1.17) / fit(nominal)
    for k in ("logic_cycle_ps", "sram_cycle_ps", "floor_cycle_ps"):   # every bound at the same gate delay
        assert getattr(hot, k) == pytest.approx(getattr(nom, k) * r)
    assert hot.clock_Hz == pytest.approx(nom.clock_Hz / r) and hot.vdd_V == 1.17 and nom.vdd_V is None


def test_a_supply_where_the_fit_turns_over_is_refused():
    from simlow.cost.scaling import vdd_delay_ratio
    from simlow.errors import SimlowError
    fit, nominal = _fit_row(45)
    assert fit(1.1) > fit(nominal)             # the 45 nm cubic rises above its 1.0 V nominal
    with pytest.raises(SimlowError, match="does not fall with the supply"):
        vdd_delay_ratio(45, 1.1)
    with pytest.raises(SimlowError, match="outside 7-90 nm"):
        vdd_delay_ratio(5, 0.7)
    with pytest.raises(SimlowError, match="logic_stages"):
        C.design_clock(30.0, 28, logic_stages=0)


def test_logic_stages_cut_the_path_evenly():
    path = 94.0
    one, three = C.design_clock(path, 7), C.design_clock(path, 7, logic_stages=3)
    margin = C.CORNER_DERATE / (1 - C.SKEW_FRACTION)
    assert three.logic_cycle_ps == pytest.approx(((path - D.T_SEQ) / 3 + C.REG_OVERHEAD_FO4) * fo4_ps(7) * margin)
    assert three.logic_cycle_ps < one.logic_cycle_ps and three.floor_cycle_ps == one.floor_cycle_ps
    assert three.fmax_Hz == one.fmax_Hz and three.logic_stages == 3


def test_npu_design_takes_supply_stages_and_bank_size():
    from simlow.npu.design import NpuDesign, evaluate
    from simlow.npu.dram import parse_dram
    from simlow.errors import SimlowError
    base = NpuDesign("int16", 1, 168, 108 * 1024, parse_dram("lpddr4x-4266x64"), 65, 8.0, 1)
    small = base.with_(bank_bytes=4096)
    b, s = evaluate(base), evaluate(small)
    # 27 banks of 4 KB carry more periphery than 4 banks of 27 KB, and each is faster to read
    assert s.area_mm2["sram"] > b.area_mm2["sram"]
    assert s.clock_model.sram_cycle_ps < b.clock_model.sram_cycle_ps
    hot = evaluate(base.with_(vdd_V=1.17))
    assert hot.clock_Hz > b.clock_Hz and hot.clock_model.vdd_V == 1.17
    staged = evaluate(base.with_(logic_stages=2))
    assert staged.clock_model.logic_cycle_ps < b.clock_model.logic_cycle_ps
    for bad in (dict(vdd_V=-1.0), dict(logic_stages=0), dict(bank_bytes=0)):
        with pytest.raises(SimlowError):
            base.with_(**bad)
