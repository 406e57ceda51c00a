"""A phase whose power model demand exceeds the cap keeps its stack's (calibrated) speed and is
priced at the cap over that time, so its tok/s and J/token agree in both fidelities; a phase
under the cap is priced as before."""

import numpy as np
import pytest

from simlow.sim import energy, power, predict
from simlow.sim.machine import machine
from simlow.sim.phases import decode_times
from simlow.sim.predict import resolve
from simlow.specs import load_hw
from simlow.workload.templates import templates

# A100 80GB at batch 64 decoding llama-2-7b f16: the power model's demand is above its 400 W cap
OVER = dict(model="llama-2-7b", hw="a100-80gb-sxm", scheme="f16", batch=64, prompt=2048, gen=8)
UNDER = dict(model="llama-2-7b", hw="h100-sxm", scheme="q4_0", batch=1, prompt=64, gen=16)


def _decode(case):
    """(roofline decode step seconds, the phase's power model steps, the device power)."""
    req = resolve(case["model"], case["hw"], case["scheme"], batch=case["batch"], prompt=case["prompt"],
                  gen=case["gen"])
    temps, _ = templates(req.model, req.scheme)
    mach = machine(req.hw, req.stack, req.engine)
    dec = decode_times(req, temps, mach)
    dev = power.device_power(req.hw, req.engine, energy.matmul_format(temps, mach))
    t = np.asarray(dec.total_s, dtype=np.float64)
    return t, power.steps(dev, t, dec.bytes, dec.flops), dev


@pytest.mark.parametrize("fidelity", ["roofline", "des"])
def test_over_the_cap_speed_and_energy_agree(fidelity):
    p = predict(**OVER, fidelity=fidelity)
    t, s, dev = _decode(OVER)
    assert float(np.sum(s.seconds)) > 1.01 * float(np.sum(t))          # the power model would throttle
    assert np.isclose(p.energy["decode_throttle"], np.sum(s.seconds) / np.sum(t), rtol=1e-6)
    assert np.isclose(p.decode_s, np.sum(t), rtol=1e-6)                # the stack's speed stands
    assert np.isclose(p.energy["decode_avg_w"], dev.cap_w, rtol=1e-6)  # every step at the cap
    assert np.isclose(p.energy_j_per_token * p.decode_tok_s, p.energy["decode_avg_w"], rtol=1e-9)
    assert any(n.startswith("decode: the power model's demand exceeds") for n in p.notes)


def test_under_the_cap_the_phase_is_priced_by_the_power_model():
    p = predict(**UNDER)
    t, s, dev = _decode(UNDER)
    assert p.energy["decode_throttle"] == 1.0
    assert p.energy["decode_j"] == float(np.sum(s.joules))
    assert p.energy["decode_avg_w"] < dev.cap_w
    assert not any("demand exceeds the TDP cap" in n for n in p.notes)


def test_at_speed_is_the_power_model_energy_capped():
    hw = load_hw("h100-sxm")
    dev = power.device_power(hw, hw.primary, "bf16")
    over = power.at_speed(dev, 1.0, 0.0, hw.primary.peak("bf16"))   # peak ops in a second: over the cap
    under = power.at_speed(dev, 1.0, 1e9, 1e12)
    assert np.isclose(float(over), dev.cap_w)
    assert float(under) == float(power.steps(dev, 1.0, 1e9, 1e12).joules) < dev.cap_w
