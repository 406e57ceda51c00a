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
