"""NPU design: DRAM names, area/peak rules, generated spec loads and simulates, shipped file."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from simlow.npu.dram import parse_dram
from simlow.cost.pricing import Tech, area_um2
from simlow.cost.sram import Macro, load_fit, macro_cost
from simlow.cost.widthmodel import Shape
from simlow.npu.design import NpuDesign, evaluate, make_unit, served_formats, sram_area_mm2, sram_bank
from simlow.npu.data import load_npu_data
from simlow.npu.shipped import SHIPPED
from simlow.npu.spec import to_hardware_spec, to_yaml
from simlow.cost.pricing import Tech
from simlow.cost.clock import design_clock
from simlow.cost.macs import unit_cost
from simlow.errors import SimlowError
from simlow.sim.predict import predict
from simlow.specs import load_hw
from simlow.specs.hardware import DeviceKind

ROOT = Path(__file__).resolve().parents[2]


def design(**kw) -> NpuDesign:
    base = dict(unit="pot4", array_side=32, arrays=2, sram_bytes=512 * 1024, dram=parse_dram("lpddr5x-8533x128"),
                node_nm=28, capacity_GB=16)
    return NpuDesign(**{**base, **kw})


@pytest.mark.parametrize("text,bw", [("lpddr5x-8533x64", 8533e6 * 8), ("lpddr4x-4266x32", 4266e6 * 4),
                                     ("ddr5-6400x64", 6400e6 * 8)])
def test_dram_bandwidth(text, bw):
    assert parse_dram(text).bandwidth_Bps == bw


@pytest.mark.parametrize("bad", ["lpddr5x-8533x63", "lpddr5x-99999x64", "LPDDR5X-8533x64", "hbm9-1000x64",
                                 "lpddr5x_8533x64", "lpddr5x-8533x0", "lpddr5x-8533"])
def test_dram_names_are_strict(bad):
    with pytest.raises(SimlowError):
        parse_dram(bad)


def test_open_width_only_when_allowed():
    assert parse_dram("lpddr5x-8533", open_width=True).width_bits == 0


def test_area_and_peaks_follow_the_stated_rules():
    d = design()
    c = evaluate(d)
    data = load_npu_data()
    uc = unit_cost(make_unit("pot4"), Tech(28))
    # issue 14: the design runs at the modelled design clock; the unit's logic fmax is reported beside it
    assert c.clock_Hz == design_clock(uc.path_fo4, 28, sram_bank(28, d.sram_bytes).access_ps).clock_Hz
    assert c.fmax_Hz == uc.fmax_Hz
    # issue 14 area inventory: logic parts carry the standard-cell factor fitted on EvoApproxLib
    k = data.logic_area_factor.value
    assert c.area_mm2["mac_arrays"] == pytest.approx(d.macs * uc.area_um2 * k / 1e6, rel=1e-12)
    skew = sum(a for label, _, a, _ in uc.parts if label in ("activation register", "accumulator register"))
    assert c.area_mm2["operand_buffers"] == pytest.approx(2 * 32 * 31 / 2 * skew * k / 1e6, rel=1e-12)
    # issue 14 SRAM macro model: 16 banks of 32 KiB x 64 bits, each a simlow.cost.sram macro at 28 nm
    bank = macro_cost(Macro(32768, 64, 28), 0.127 / 0.244)
    assert c.area_mm2["sram"] == pytest.approx(16 * bank.area_um2 / 1e6, rel=1e-12)
    assert c.area_mm2["dram_phy"] == 8 * data.phy_area_mm2_per_16bit.value
    logic_sram = [c.area_mm2[p] for p in ("mac_arrays", "operand_buffers", "vector", "sram")]
    assert c.area_mm2["interconnect"] == pytest.approx(data.overhead_fraction.value * math.fsum(logic_sram))
    assert c.area_mm2["control"] == pytest.approx(data.control_fraction.value * c.area_mm2["on_chip"])
    parts = [v for key, v in c.area_mm2.items() if key not in ("total", "on_chip")]
    assert c.total_area_mm2 == pytest.approx(math.fsum(parts))
    assert c.area_mm2["on_chip"] == pytest.approx(c.total_area_mm2 - c.area_mm2["dram_phy"])
    assert c.peak_ops["pot"] == pytest.approx(2 * d.macs * c.clock_Hz)
    assert c.peak_ops["fp16"] == pytest.approx(2 * d.vector_lanes * c.clock_Hz)
    assert "int8" not in c.peak_ops  # a PoT array cannot multiply two int8 operands
    assert c.pJ_per_op["pot"] == pytest.approx(uc.energy_pJ_per_op / 2)


def test_costs_grow_with_size_and_derate_lowers_clock():
    a, b = evaluate(design()), evaluate(design(arrays=4))
    assert b.total_area_mm2 > a.total_area_mm2 and b.peak_ops["pot"] == pytest.approx(2 * a.peak_ops["pot"])
    assert evaluate(design(sram_bytes=1024 * 1024)).area_mm2["sram"] == pytest.approx(2 * a.area_mm2["sram"])
    # at a fast given clock (the modelled design clock already needs a single vector stage)
    a = evaluate(design(clock_Hz=3e9))
    slow = evaluate(design(clock_Hz=3e9, clock_derate=0.5))
    assert slow.clock_Hz == pytest.approx(a.clock_Hz / 2)
    # a slower clock needs fewer vector pipeline stages; nothing else changes area
    assert slow.vector_stages < a.vector_stages and slow.area_mm2["mac_arrays"] == a.area_mm2["mac_arrays"]
    assert sram_area_mm2(1 << 20, 3) < sram_area_mm2(1 << 20, 7) < sram_area_mm2(1 << 20, 28) < sram_area_mm2(1 << 20, 45)


def test_bad_designs_are_refused():
    for kw in ({"unit": "int3"}, {"arrays": 0}, {"clock_derate": 1.5}, {"node_nm": 2},
               {"dram": parse_dram("lpddr5x-8533", open_width=True)}):
        with pytest.raises(SimlowError):
            design(**kw)


def test_every_unit_serves_its_formats():
    for name in ("int8", "w4a8", "int4", "pot3", "pot3r", "pot4", "pot4r", "ternary", "fp8", "bf16"):
        c = evaluate(design(unit=name))
        for fmt in served_formats(name):
            assert c.peak_ops[fmt] >= 2 * design().macs * c.clock_Hz * (1 - 1e-12)


def test_generated_spec_loads_and_simulates_like_any_other(tmp_path):
    d = design()
    spec = to_hardware_spec(d)
    assert spec.kind is DeviceKind.NPU and spec.primary.units == d.macs
    path = tmp_path / f"{d.label}.yaml"
    path.write_text(to_yaml(d))
    loaded = load_hw(path)
    assert loaded == spec
    assert all(src.startswith(("derived: simlow.npu.design", "design choice:")) for src in (s.source for s in spec.sources.values()))
    for hw in (spec, loaded):
        p = predict("llama-3-8b", hw, "pot-w4", prompt=64, gen=8, stack="ideal-npu")
        assert p.decode_tok_s > 0 and p.fits and p.energy_j_per_token > 0
    # the spec holds exactly what the text says: 6 significant digits of the computed figures
    c = evaluate(d)
    assert spec.primary.peak("pot") == pytest.approx(c.peak_ops["pot"], rel=1e-5)
    assert spec.main_memory.bandwidth_Bps == pytest.approx(d.dram.bandwidth_Bps, rel=1e-12)
    assert spec.power.tdp_w == pytest.approx(c.tdp_W, rel=1e-5)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_file_is_the_generated_design(name):
    path = ROOT / "hwspecs" / f"{name}.yaml"
    assert path.read_text() == to_yaml(SHIPPED[name]), "regenerate with simlow.npu.shipped.write_shipped"
    assert load_hw(name) == to_hardware_spec(SHIPPED[name])


def test_per_array_scratchpads_add_their_macros_and_their_access_time():
    plain, local = evaluate(design()), evaluate(design(local_sram_bytes=2048))
    pad = macro_cost(Macro(2048, 16, 28), 0.127 / 0.244)
    assert local.area_mm2["sram"] == pytest.approx(plain.area_mm2["sram"] + 2 * pad.area_um2 / 1e6, rel=1e-12)
    assert local.area_mm2["mac_arrays"] == plain.area_mm2["mac_arrays"]
    # a scratchpad far bigger than a global bank is the slowest macro, and its access bounds the SRAM cycle
    big = evaluate(design(local_sram_bytes=1 << 20)).clock_model
    assert big.sram_cycle_ps > plain.clock_model.sram_cycle_ps
    with pytest.raises(SimlowError, match="local_sram_bytes"):
        design(local_sram_bytes=-1)


def test_register_files_and_white_space_in_the_inventory():
    data = load_npu_data()
    plain, regs = evaluate(design()), evaluate(design(local_reg_bytes=72))
    bit = area_um2(Tech(28), "reg", Shape(width=1)).value
    mux16 = area_um2(Tech(28), "mux", Shape(width=16)).value
    # 2 arrays x (72 B of flip-flops + a read-mux tree over its 36 16-bit words) x the standard-cell factor
    rf = 72 * 8 * bit + 35 * mux16
    assert regs.area_mm2["register_files"] == pytest.approx(2 * rf * data.logic_area_factor.value / 1e6)
    assert plain.area_mm2["register_files"] == 0.0
    # white space is the TPU v1 floor plan's unassigned share of the on-chip area, and leaks nothing
    for c in (plain, regs):
        assert c.area_mm2["whitespace"] == pytest.approx(data.whitespace_fraction.value * c.area_mm2["on_chip"])
    assert regs.area_mm2["on_chip"] > plain.area_mm2["on_chip"]
    logic = sum(plain.area_mm2[k] for k in ("mac_arrays", "operand_buffers", "vector", "register_files",
                                             "interconnect", "control"))
    assert plain.static_W == pytest.approx(data.logic_leak_W_per_mm2.value * logic
                                           + load_fit().leak_W_per_mm2 * plain.area_mm2["sram"])
    with pytest.raises(SimlowError, match="local_reg_bytes"):
        design(local_reg_bytes=-1)


def test_spec_sources_name_the_design_supply_stages_and_bank():
    from simlow.npu.spec import spec_document
    from simlow.npu.dram import parse_dram
    from simlow.npu.design import NpuDesign
    base = NpuDesign("int16", 1, 168, 108 * 1024, parse_dram("lpddr4x-4266x64"), 65, 8.0, 1)
    plain = spec_document(base)
    doc = spec_document(base.with_(vdd_V=1.17, logic_stages=2, bank_bytes=4096))
    clock = doc["engines"][0]["clock"]["source"]
    assert "1.17 V" in clock and "2 pipeline stage(s)" in clock
    assert "pipeline stage" not in plain["engines"][0]["clock"]["source"]
    sram = next(m for m in doc["memories"] if m["name"] == "sram")
    assert "banks of 4096 B" in sram["bandwidth"]["source"] and "4096-byte bank" in sram["energy_per_bit"]["source"]
