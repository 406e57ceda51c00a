"""Board energy of a phase, modelled from the spec (not calibrated).

Per step: ``P = idle + (TDP - idle) * u`` where ``u`` is the busier resource's achieved
fraction of its peak (``StepTimes.utilization``: bytes / peak bandwidth or flops / peak
ops, over the step time), so a step that saturates DRAM or the tensor units draws TDP and
an overhead-bound step draws little above idle. Where the memory spec gives an energy per
bit, the DRAM traffic's energy (bits x J/bit) is added on top, capped so the board never
exceeds TDP. A spec without an idle power is taken at 10% of TDP (assumed).
"""

from __future__ import annotations

import numpy as np

NOTE = ("energy is modelled, not calibrated: board power = idle + (TDP - idle) x utilization "
        "of the busier resource, plus DRAM J/bit where the spec gives it, capped at TDP")
IDLE_FRACTION = 0.10   # assumed idle power when a spec gives none


def _phase(hw, engine, times) -> tuple[float, float]:
    tdp = hw.power.tdp_w
    idle = hw.power.idle_w if hw.power.idle_w is not None else IDLE_FRACTION * tdp
    t = np.asarray(times.total_s, dtype=np.float64)
    power = idle + (tdp - idle) * times.utilization
    e_bit = hw.memory(engine.memory).energy_J_per_bit
    if e_bit:
        power = power + np.asarray(times.bytes) * 8.0 * e_bit / t
    power = np.minimum(power, tdp)
    joules = float(np.sum(power * t))
    return joules, joules / float(np.sum(t))


def energy(hw, engine, prefill, decode) -> dict[str, float]:
    """Joules and average watts of the prefill and decode phases (absent phases omitted)."""
    out: dict[str, float] = {}
    for name, times in (("prefill", prefill), ("decode", decode)):
        if times is not None:
            out[f"{name}_j"], out[f"{name}_avg_w"] = _phase(hw, engine, times)
    return out
