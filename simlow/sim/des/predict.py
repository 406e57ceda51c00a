"""``predict_des(request, ...)``: a ``Prediction`` from the discrete-event simulation.

Prefill runs as the stack's micro-batches (``ubatch`` prompt tokens each, every one a
simulated step at its own context); decode steps come from ``series.affine_sum`` (few
simulated contexts, exact between them up to ``tol`` ps per step), or, with an expert
cache, from ``offload.expert_decode`` (every step's cache hits and misses).

Energy reuses ``simlow.sim.energy`` over the same work (bytes and FLOPs per step from the
roofline of the same graph) with the DES step times, so it is modelled the same way.
``bound`` names the largest share of each phase's time among ``memory``, ``compute``,
``link`` and ``overhead``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simlow.workload.templates import templates
from simlow.memory import footprint
from simlow.sim import energy
from simlow.sim.des.clock import PS_PER_S
from simlow.sim.des.plan import Setup, device_setup, step_blocks
from simlow.sim.des.runner import BOUNDS
from simlow.sim.des.series import affine_sum
from simlow.sim.des.step import FOLD, Background, StepResult, simulate_step
from simlow.sim.machine import machine
from simlow.sim.parallel import comm_note, group_energy, group_machine, group_memory
from simlow.sim.pipeline import stage_sends_s
from simlow.sim.phases import decode_times, make_prediction, prefill_times
from simlow.sim.results import Bound, Fidelity, Prediction, TimelineEntry

TOL_PS_PER_OP = 4      # chord tolerance per op instance: a few 1-ps roundings per op
COMM_OPS = ("all_reduce", "handover", "stage_transfers")   # the ops of a device group (simlow.sim.des.plan)


@dataclasses.dataclass(frozen=True)
class PhaseRun:
    """A phase's simulated steps: ``rows[i]`` = [time_ps, per-op ps by bound..., bytes by
    resource...] for step ``i`` (``names``, ``resources`` give the column order)."""

    rows: np.ndarray
    names: tuple[str, ...]
    resources: tuple[str, ...]
    simulated: int

    @property
    def step_s(self) -> np.ndarray:
        return self.rows[:, 0] / PS_PER_S

    @property
    def comm_s(self) -> np.ndarray:
        """Per step, the seconds of the device group's collectives and handovers."""
        cols = [1 + 4 * i + j for i, n in enumerate(self.names) if n in COMM_OPS for j in range(4)]
        return self.rows[:, cols].sum(axis=1) / PS_PER_S

    def op_ps(self) -> dict[str, np.ndarray]:
        """Per op name: ps by bound, summed over the phase's steps."""
        tot = self.rows[:, 1:1 + 4 * len(self.names)].sum(axis=0).reshape(len(self.names), 4)
        return {n: tot[i] for i, n in enumerate(self.names)}

    def moved(self) -> dict[str, float]:
        tot = self.rows[:, 1 + 4 * len(self.names):].sum(axis=0)
        return {r: float(tot[i]) for i, r in enumerate(self.resources)}


def _vector(r: StepResult, names, resources) -> np.ndarray:
    ops = [x for n in names for x in r.ops.get(n, (0, 0, 0, 0))]
    return np.array([r.time_ps] + ops + [float(r.moved[x]) for x in resources], dtype=np.float64)


def _names(setup: Setup) -> tuple[str, ...]:
    return tuple(t.name for t in setup.temps) + ("act_to_host", "act_to_device", *COMM_OPS, "step_overhead")


def run_prefill(setup: Setup, fold=FOLD, setup_for=None) -> PhaseRun | None:
    """Prefill micro-batch by micro-batch; ``setup_for(tokens)`` (optional) picks the setup a
    step of that many tokens (all sequences) runs in, e.g. llama.cpp's per-step offload mode."""
    req = setup.req
    if req.prompt == 0:
        return None
    names, res = _names(setup), tuple(setup.fab.capacities_Bps)
    rows = []
    for start in range(0, req.prompt, req.stack.ubatch):
        size = min(req.stack.ubatch, req.prompt - start)
        step_setup = setup if setup_for is None else setup_for(req.batch * size)
        blocks = step_blocks(step_setup, req.batch, size, req.depth + start, _distinct(req, req.batch * size))
        rows.append(_vector(simulate_step(blocks, step_setup.fab, step_setup.prefetch, step_setup.tail_ps, fold),
                            names, res))
    return PhaseRun(np.array(rows), names, res, len(rows))


def run_decode(setup: Setup, fold=FOLD) -> PhaseRun | None:
    req = setup.req
    if req.gen == 0:
        return None
    names, res = _names(setup), tuple(setup.fab.capacities_Bps)
    distinct = _distinct(req, req.batch)
    instances = sum(t.repeat for t in setup.temps)

    def at(L: int) -> np.ndarray:
        blocks = step_blocks(setup, req.batch, 1, L, distinct)
        return _vector(simulate_step(blocks, setup.fab, setup.prefetch, setup.tail_ps, fold), names, res)

    start = req.depth + req.prompt
    rows, n = affine_sum(at, start, start + req.gen - 1, TOL_PS_PER_OP * instances)
    return PhaseRun(rows, names, res, n)


def _distinct(req, tokens):
    moe = req.model.moe
    return None if moe is None else float(req.routing.distinct(tokens, moe.experts, moe.top_k))


def predict_des(req, offload=None, prefetch: int = 0, background: tuple[Background, ...] = (),
                fold: int | None = FOLD) -> Prediction:
    """The DES prediction of a resolved ``Request`` (``simlow.sim.predict.resolve``).

    ``offload`` (``simlow.sim.des.offload.Offload``; default: the request's ``offload``
    attribute if it has one) splits weights between device and host; ``prefetch`` is the
    weight prefetch depth in ops; ``background`` adds constant traffic on shared memory."""
    offload = offload if offload is not None else getattr(req, "offload", None)
    if offload is not None:
        from simlow.sim.des import offload as off

        return off.predict_offload(req, offload, prefetch, background, fold)
    setup = device_setup(req, prefetch, tuple(background))
    return assemble(setup, run_prefill(setup, fold), run_decode(setup, fold), ())


def assemble(setup: Setup, pre: PhaseRun | None, dec: PhaseRun | None, notes: tuple[str, ...],
             fp=None, extra_memory: dict | None = None) -> Prediction:
    """A ``Prediction`` from the simulated phases (energy from the roofline's work)."""
    req = setup.req
    temps, _ = templates(req.model, req.scheme)
    mach = machine(req.hw, req.stack, req.engine)
    par = getattr(req, "parallel", None)
    run = mach if par is None else group_machine(mach, par.tp)
    rpre, rdec = prefill_times(req, temps, run), decode_times(req, temps, run)
    if pre is not None:
        rpre = dataclasses.replace(rpre, total_s=pre.step_s, comm_s=pre.comm_s)
    if dec is not None:
        rdec = dataclasses.replace(rdec, total_s=dec.step_s, comm_s=dec.comm_s)
    if par is not None and par.pp > 1:   # one micro-batch: the stages are busy but for the sends
        rpre, rdec = (None if t is None else dataclasses.replace(t, work_s=t.total_s - stage_sends_s(req, setup.peer, k))
                      for t, k in ((rpre, True), (rdec, False)))
    fp = fp or footprint(req.model, req.hw, req.scheme, req.ctx, req.batch)
    phases, fmt = (rpre if pre else None, rdec if dec else None), energy.matmul_format(temps, mach)
    if par is None:
        e, memory = energy.energy(req.hw, req.engine, *phases, fmt), fp.to_dict()
    else:
        e, memory = group_energy(req.hw, req.engine, par, *phases, fmt), group_memory(fp, req.model, par)
        notes = (*notes, comm_note(par, setup.peer, *phases))
    memory.update(extra_memory or {})
    sim = [f"{name}: {run.simulated} distinct steps simulated" for name, run in (("prefill", pre), ("decode", dec)) if run]
    return make_prediction(
        req, Fidelity.DES, temps, pre.step_s if pre else None, dec.step_s if dec else None, e, memory,
        bool(memory.get("fits", fp.fits)), float(memory.get("shortfall_bytes", fp.shortfall_bytes)),
        {k: _bound(run) for k, run in (("prefill", pre), ("decode", dec)) if run is not None},
        _timeline(temps, mach, pre, dec, rpre, rdec), (*sim, *notes))


def _bound(run: PhaseRun) -> Bound:
    tot = sum(run.op_ps().values())
    return BOUNDS[int(np.argmax(tot))]


def _timeline(temps, mach, pre, dec, rpre, rdec) -> tuple[TimelineEntry, ...]:
    """Per op of each phase, in execution order; an op's format is the one it runs in on
    the machine (``Machine.format_for``, as the roofline's timeline says)."""
    out, clock = [], 0.0
    for phase, run, roof in (("prefill", pre, rpre), ("decode", dec, rdec)):
        if run is None:
            continue
        per = run.op_ps()
        split = {t.name: s for t, s in zip(temps, roof.op_split)}
        fmt = {t.name: mach.format_for(t) for t in temps}
        layers = {t.name: t.layers for t in temps}
        for name in run.names:
            v = per[name]
            if not v.any():
                continue
            dur = float(v.sum()) / PS_PER_S
            fl, by = (split[name][3], split[name][4]) if name in split else (0.0, 0.0)
            out.append(TimelineEntry(phase, name, clock, dur, BOUNDS[int(np.argmax(v))], fl, by,
                                     fmt.get(name, ""), layers.get(name, ())))
            clock += dur
    return tuple(out)
