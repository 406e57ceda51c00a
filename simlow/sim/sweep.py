"""Design sweeps: one decode step (or prefill step) over arrays of design points.

``decode_sweep`` evaluates the roofline at every point of broadcast arrays of bandwidth,
peak ops (one rate for every format: a hypothetical single-rate design), weight bits per
parameter (weights re-priced at ``params * bits / 8``; scales count inside the bits),
batch and context, in one vectorized pass over the op templates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlow.workload.templates import templates
from simlow.sim.roofline import Machine, step
from simlow.workload.routing import Uniform
from simlow.sim.stacks import Stack
from simlow.sim.stack_load import load_stack
from simlow.specs import load_model, load_scheme


@dataclass(frozen=True)
class SweepResult:
    tok_s: np.ndarray           # aggregate tokens/s of the step (batch / step time)
    step_s: np.ndarray
    utilization: np.ndarray


def decode_sweep(model, scheme, stack: str | Stack = "ideal", *, bandwidth_Bps, peak_ops, weight_bits=None,
                 batch=1, context=0, routing=None) -> SweepResult:
    m, s, st = load_model(model), load_scheme(scheme), load_stack(stack)
    temps, _ = templates(m, s)
    peak = np.asarray(peak_ops, dtype=np.float64)
    mach = Machine(bandwidth_Bps=np.asarray(bandwidth_Bps, dtype=np.float64), peak_for=lambda t: peak,
                   bandwidth_eff=st.bandwidth, compute_eff=st.compute_efficiency,
                   kernel_overhead_s=st.kernel_overhead_s, step_overhead_s=st.step_overhead_s)
    b = np.asarray(batch, dtype=np.float64)
    distinct = None
    if m.moe is not None:
        distinct = (routing or Uniform()).distinct(b, m.moe.experts, m.moe.top_k)
    t = step(temps, mach, b, 1, context, distinct, weight_bits)
    return SweepResult(b / t.total_s, t.total_s, t.utilization)
