"""The phases of a prediction, shared by both fidelities: the roofline times of a request's
prefill micro-batches and decode steps, and the ``Prediction`` built from per-step times
(throughput, time to first token, energy per token, bound per phase, the per-op timeline,
and the notes every prediction carries). The roofline fidelity (``simlow.sim.predict``)
and the discrete-event one (``simlow.sim.des``) both end in ``make_prediction``.
"""

from __future__ import annotations

import numpy as np

from simlow.sim import energy, roofline
from simlow.sim.machine import placed_elsewhere
from simlow.sim.request import Request
from simlow.sim.results import Bound, Fidelity, Prediction, TimelineEntry
from simlow.workload.op import OpTemplate


def _distinct(req: Request, tokens):
    moe = req.model.moe
    return None if moe is None else req.routing.distinct(tokens, moe.experts, moe.top_k)


def prefill_times(req: Request, temps, mach) -> roofline.StepTimes | None:
    if req.prompt == 0:
        return None
    u = req.ubatch
    starts = np.arange(0, req.prompt, u, dtype=np.float64)
    sizes = np.minimum(u, req.prompt - starts)
    return roofline.step(temps, mach, req.batch, sizes, req.depth + starts,
                         _distinct(req, req.batch * sizes))


def decode_times(req: Request, temps, mach) -> roofline.StepTimes | None:
    if req.gen == 0:
        return None
    return roofline.decode_steps(temps, mach, req.batch, req.depth + req.prompt, req.gen,
                                 _distinct(req, req.batch))


def make_prediction(req: Request, fidelity: Fidelity, temps, prefill_steps_s, decode_steps_s, energy_parts: dict,
                    memory: dict, fits: bool, shortfall_bytes: float, bound: dict, timeline, notes) -> Prediction:
    """A ``Prediction`` from per-step phase times (seconds; ``None`` for a phase not run).

    Both fidelities end here, so throughput, time to first token, energy per token and the
    notes every prediction carries (stack calibration, energy model, ops placed on another
    engine) are computed in one place."""
    pre_s = float(np.sum(prefill_steps_s)) if prefill_steps_s is not None else 0.0
    dec_s = float(np.sum(decode_steps_s)) if decode_steps_s is not None else 0.0
    placed = [f"placed on {name} (the {req.engine.name} has none of their formats; stack {req.stack.name}'s "
              f"fallback_engine): {', '.join(ops)}"
              for name, ops in placed_elsewhere(temps, req.hw, req.stack, req.engine).items()]
    return Prediction(
        model=req.model.name, hw=req.hw.name, scheme=req.scheme.name, stack=req.stack.name,
        engine=req.engine.name, fidelity=fidelity, batch=req.batch, prompt=req.prompt, gen=req.gen,
        ctx=req.ctx, depth=req.depth,
        prefill_tok_s=req.batch * req.prompt / pre_s if prefill_steps_s is not None else None,
        decode_tok_s=req.batch * req.gen / dec_s if decode_steps_s is not None else None,
        ttft_s=pre_s if prefill_steps_s is not None else float(np.ravel(decode_steps_s)[0]),
        prefill_s=pre_s, decode_s=dec_s,
        energy_j_per_token=(energy_parts["decode_j"] / (req.batch * req.gen)
                            if decode_steps_s is not None else None),
        energy=energy_parts, memory=memory, fits=fits, shortfall_bytes=shortfall_bytes, bound=bound,
        timeline=timeline,
        notes=(*req.scheme_notes, f"stack {req.stack.name}: {req.stack.calibration}", energy.NOTE, *placed,
               *energy.cap_notes(energy_parts), *notes))


def _timeline(temps: tuple[OpTemplate, ...], mach, pre, dec, comm_op: str = "communication"
              ) -> tuple[TimelineEntry, ...]:
    """Per op of each phase in execution order; a device group's communication
    (``StepTimes.comm_s``) is one ``comm_op`` entry at the end of its phase."""
    out, clock = [], 0.0
    for phase, times in (("prefill", pre), ("decode", dec)):
        if times is None:
            continue
        for t, op_time, (tc, tm, launch, fl, by) in zip(temps, times.per_op, times.op_split):
            dur = float(np.sum(op_time))
            shares = {Bound.MEMORY: tm, Bound.COMPUTE: tc, Bound.OVERHEAD: launch}
            out.append(TimelineEntry(phase, t.name, clock, dur, max(shares, key=shares.get), fl, by,
                                     mach.format_for(t), t.layers))
            clock += dur
        comm = float(np.sum(times.comm_s))
        if comm > 0:
            out.append(TimelineEntry(phase, comm_op, clock, comm, Bound.LINK, 0.0, 0.0, ""))
            clock += comm
    return tuple(out)
