"""The power model (simlow.sim.power): the cap holds, energy grows with the work."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simlow.sim import power
from simlow.specs import load_hw

DEVICES = ("h100-sxm", "rtx-4090", "m1-pro", "snapdragon-8-elite")


def _dev(name, fmt="bf16"):
    hw = load_hw(name)
    return power.device_power(hw, hw.primary, fmt)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DEVICES), st.floats(1e-6, 10.0), st.floats(0, 1e12), st.floats(0, 1e16))
def test_power_never_above_the_cap_and_time_only_stretches(name, seconds, nbytes, ops):
    dev = _dev(name)
    s = power.steps(dev, seconds, nbytes, ops)
    assert float(s.watts) <= dev.cap_w * (1 + 1e-9)
    assert float(s.seconds) >= seconds
    if float(s.stretch) > 1.0:          # throttled: the step draws the cap exactly
        assert np.isclose(float(s.watts), dev.cap_w)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(DEVICES), st.floats(1e-4, 1.0), st.floats(0, 1e11), st.floats(1.0, 1e11), st.floats(0, 1e14))
def test_energy_monotone_in_bytes(name, seconds, nbytes, more, ops):
    dev = _dev(name)
    a = power.steps(dev, seconds, nbytes, ops)
    b = power.steps(dev, seconds, nbytes + more, ops)
    assert float(b.joules) > float(a.joules)


def test_dram_energy_follows_the_memory_type():
    # same work, HBM3 board against GDDR6X board: the DRAM term is the cost table's figure per type
    from simlow.cost.memory import load_memory

    for name, kind in (("h100-sxm", "hbm3"), ("rtx-4090", "gddr6x")):
        assert _dev(name).dram_J_per_bit == load_memory().get(kind).pJ_per_bit * 1e-12


def test_compute_at_peak_rate_is_throttled_to_the_cap():
    # the op energy is the board's dynamic budget over the peak: peak ops in one second plus the clocked
    # units exceed the cap, so the clock drops by r = (cap - idle) / (clocked + (cap - idle))
    hw = load_hw("h100-sxm")
    dev = power.device_power(hw, hw.primary, "bf16")
    s = power.steps(dev, 1.0, 0.0, hw.primary.peak("bf16"))
    budget, clocked = dev.cap_w - dev.idle_w, dev.active_w - dev.idle_w
    assert np.isclose(float(s.watts), dev.cap_w)
    assert np.isclose(float(s.stretch), (clocked + budget) / budget)
    idle = power.steps(dev, 1.0, 0.0, 0.0)            # nothing to do: clocked units and idle only
    assert np.isclose(float(idle.watts), dev.active_w) and float(idle.stretch) == 1.0


def test_an_npu_design_is_priced_by_its_own_tables_not_the_gpu_fitted_constants():
    """An NPU engine's units are MACs: no per-unit clocked power (fitted on GPU SMs, it put
    the 4,096-MAC edge NPU at ~10 kW); its on-chip energy is its spec's SRAM figure."""
    hw = load_hw("edge-npu-28nm")
    dev = power.device_power(hw, hw.primary, "int8")
    assert dev.active_w == dev.idle_w
    assert dev.onchip_J_per_bit == hw.power.onchip_J_per_bit
    gpu = load_hw("rtx-4090")
    assert gpu.power.onchip_J_per_bit is None
    fitted = power.FITTED.onchip_pJ_per_bit * 1e-12 * power.wire_factor(gpu)
    assert power.device_power(gpu, gpu.primary, "fp16").onchip_J_per_bit == fitted


def test_unthrottled_npu_decode_energy_is_its_power_over_its_speed():
    from simlow.sim import predict

    p = predict("llama-2-7b", "edge-npu-28nm", "q4_0", batch=1, prompt=64, gen=16).to_dict()
    watts = p["energy"]["decode_avg_w"]
    assert watts < load_hw("edge-npu-28nm").power.tdp_w           # a weight stream stays under the cap
    assert np.isclose(p["energy_j_per_token"] * p["decode_tok_s"], watts, rtol=1e-9)


def test_an_npu_design_pays_for_its_ops_out_of_its_compute_share_of_the_tdp():
    """A simlow NPU design's TDP is static + units busy + DRAM at peak + SRAM: ops at peak rate
    draw the units' and vector lanes' share, not the DRAM's; DRAM bits cost device + PHY."""
    from simlow.npu.design import NpuDesign, evaluate
    from simlow.npu.dram import parse_dram
    from simlow.npu.spec import to_hardware_spec

    d = NpuDesign(unit="pot4", array_side=16, arrays=3, sram_bytes=512 * 1024, dram=parse_dram("lpddr4x-4266x32"),
                  node_nm=28, capacity_GB=4.0)
    c = evaluate(d)
    hw = to_hardware_spec(d, c)
    dev = power.device_power(hw, hw.primary, "pot")
    assert np.isclose(dev.dram_J_per_bit, c.dram_pJ_per_bit * 1e-12)
    compute_w = c.tdp_parts_W["arrays"] + c.tdp_parts_W["vector"]
    assert np.isclose(dev.op_J * c.peak_ops["pot"], compute_w, rtol=0.02)
