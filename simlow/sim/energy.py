"""Board energy of a prediction's phases: the power model (``simlow.sim.power``) over each
step's DRAM bytes, ops and time.

Per step the device draws its static power while running plus the DRAM, on-chip and
compute energy of the step's work; a step whose power would exceed the board's cap (TDP)
draws the cap over the step's predicted time (``power.at_speed``: the stack's speeds are
calibrated on boards running under their cap, so they are not stretched again), and the
phase's J/token x tok/s is its average power, at most the cap. ``<phase>_j`` and
``<phase>_avg_w`` are the phase's joules and average watts; ``<phase>_throttle`` is the time
the power model alone would stretch the phase to under the cap over its predicted time
(1.0: under the cap; above 1, the phase is priced at the cap and a note says so).
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
    joules = float(np.sum(power.capped_J(dev, s, t)))
    return joules, joules / float(np.sum(t)), float(np.sum(s.seconds) / np.sum(t))


def cap_notes(parts: dict) -> list[str]:
    """A note per phase whose power model demand exceeds the cap (priced at the cap)."""
    return [f"{k}: the power model's demand exceeds the TDP cap ({thr:.3g}x the predicted time to stay under "
            "it); priced at the cap over the predicted time (the stack's speeds are calibrated under the cap)"
            for k in ("prefill", "decode") if (thr := parts.get(f"{k}_throttle", 1.0)) > 1.0]


def energy(hw, engine, prefill, decode, fmt: str | None = None) -> dict[str, float]:
    """Joules, average watts and throttle factor of the prefill and decode phases (absent
    phases omitted); ``fmt`` is the matmul format (``matmul_format``; None: priced as fp16)."""
    dev = power.device_power(hw, engine, fmt)
    out: dict[str, float] = {}
    for name, times in (("prefill", prefill), ("decode", decode)):
        if times is not None:
            out[f"{name}_j"], out[f"{name}_avg_w"], out[f"{name}_throttle"] = _phase(dev, times)
    return out
