"""Board energy of a prediction's phases: the power model (``simlow.sim.power``) over each
step's DRAM bytes, ops and time.

Per step the device draws its static power while running plus the DRAM, on-chip and
compute energy of the step's work; a step whose power would exceed the board's cap (TDP)
is throttled: it stretches and draws the cap. ``<phase>_j`` and ``<phase>_avg_w`` are the
phase's joules and average watts; ``<phase>_throttle`` is the time the phase takes under the
cap over its unthrottled time (1.0: never throttled; the prediction's speeds are the
unthrottled ones, so a value above 1 says the speed is optimistic by that factor).
"""

from __future__ import annotations

import numpy as np

from simlow.sim import power
from simlow.workload.op import OpClass

NOTE = ("energy: static power + DRAM bytes x J/bit by memory type + on-chip traffic + ops x J/op by format "
        f"and node, throttled under the TDP cap (simlow.sim.power; 2 global constants {power.FITTED.source})")


def matmul_format(temps, mach) -> str | None:
    """The format the phase's matmuls run in (its ops are priced at that format's MAC)."""
    return next((mach.format_for(t) for t in temps if t.op_class is OpClass.MATMUL), None)


def _phase(dev: power.DevicePower, times) -> tuple[float, float, float]:
    t = np.asarray(times.total_s, dtype=np.float64)
    s = power.steps(dev, t, times.bytes, times.flops)
    joules = float(np.sum(s.joules))
    return joules, joules / float(np.sum(s.seconds)), float(np.sum(s.seconds) / np.sum(t))


def energy(hw, engine, prefill, decode, fmt: str | None = None) -> dict[str, float]:
    """Joules, average watts and throttle factor of the prefill and decode phases (absent
    phases omitted); ``fmt`` is the matmul format (``matmul_format``; None: priced as fp16)."""
    dev = power.device_power(hw, engine, fmt)
    out: dict[str, float] = {}
    for name, times in (("prefill", prefill), ("decode", decode)):
        if times is not None:
            out[f"{name}_j"], out[f"{name}_avg_w"], out[f"{name}_throttle"] = _phase(dev, times)
    return out
