"""The hardware-derived power ceiling: board energy per matmul op = the stack's
``matmul_energy_scale`` x the energy of one op of the format's MAC at the device's node
(``simlow.cost`` tables), so the same stack caps an older-node board lower."""

import dataclasses

import pytest

from simlow.cost import FpMac, IntMac, Tech, unit_cost
from simlow.errors import SimlowError
from simlow.workload.op import OpClass
from simlow.workload.templates import templates
from simlow.validation.calibrate import MODES, fit_stack
from simlow.sim.machine import mac_energy_per_op, machine, pick_engine, power_rate
from simlow.sim.stack_load import load_stack, stack_dir
from simlow.specs import load_hw, load_model, load_scheme


def test_mac_energy_is_the_cost_tables_mac_at_the_node_per_op():
    rtx3090, rtx4090 = load_hw("rtx-3090"), load_hw("rtx-4090")            # 8 nm, 4 nm
    assert mac_energy_per_op(rtx4090, "int8") == pytest.approx(
        unit_cost(IntMac(8, 8, 32), Tech(4)).energy_pJ_per_op * 1e-12 / 2, rel=1e-12)
    assert mac_energy_per_op(rtx3090, "fp16") == pytest.approx(
        unit_cost(FpMac("fp16", "fp32"), Tech(8)).energy_pJ_per_op * 1e-12 / 2, rel=1e-12)
    assert mac_energy_per_op(rtx3090, "int8") > mac_energy_per_op(rtx4090, "int8")
    assert mac_energy_per_op(rtx4090, "fp16") > mac_energy_per_op(rtx4090, "int8")
    assert mac_energy_per_op(rtx4090, "ternary") is None                   # no MAC priced
    no_node = dataclasses.replace(rtx4090, node_m=None)
    assert mac_energy_per_op(no_node, "int8") is None


def test_scaled_power_ceiling_by_hand():
    st = dataclasses.replace(load_stack("llama.cpp-cuda"), matmul_energy_J=None, matmul_energy_scale=150.0,
                             matmul_unit_rate=None, compute_efficiency={**load_stack("llama.cpp-cuda").compute_efficiency,
                                                                        "matmul": 1.0})
    hw = load_hw("rtx-3090")
    want = hw.power.tdp_w / (150.0 * mac_energy_per_op(hw, "int8"))
    assert power_rate(st, hw, "int8") == pytest.approx(want, rel=1e-12)
    assert power_rate(st, hw) is None                                      # format needed
    temps, _ = templates(load_model("llama-2-7b"), load_scheme("q4_0"))
    mm = next(t for t in temps if t.op_class is OpClass.MATMUL and t.compute == "int8")
    m = machine(hw, st, pick_engine(hw, st))
    assert float(m.rate_for(mm)) == pytest.approx(min(want, pick_engine(hw, st).peak("int8")), rel=1e-12)


def test_both_energy_keys_are_refused(tmp_path):
    text = (stack_dir() / "llama.cpp-cuda.yaml").read_text()
    p = tmp_path / "llama.cpp-cuda.yaml"
    p.write_text(text + "matmul_energy_scale: 150\n")
    with pytest.raises(SimlowError, match="not both"):
        load_stack(str(p))


def test_calibration_refuses_an_unknown_energy_mode():
    assert MODES == ("absolute", "node")
    with pytest.raises(SimlowError, match="energy mode"):
        fit_stack("llama.cpp-metal", [], mode="watts")
