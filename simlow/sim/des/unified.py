"""Several agents on one unified memory at once: contention and its slowdown.

On a unified-memory SoC (Strix Halo, Apple M-series, DGX Spark) the CPU, GPU and NPU read
the same LPDDR5X. ``corun(agents)`` runs each agent's decode steps (its own model, scheme,
stack and engine, as a resolved ``Request``) in one simulation over one fabric, so their
streams share the memory by max-min fairness (an agent whose stack says ``bandwidth_mode:
rate_cap`` is capped by its engine's port and holds only the bytes it moves:
``simlow.sim.des.fabric``); it also runs each agent alone on the same fabric and reports
the slowdown. ``background`` adds constant traffic (a CPU copy loop,
a display engine) on top.

Agents must run on distinct engines (one engine executes one agent's ops in order). Steps
are simulated op by op for every layer and every step (no folding: the agents' relative
phase changes from step to step); keep ``steps`` modest.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import simpy

from simlow.errors import SimlowError
from simlow.sim.des.clock import seconds
from simlow.sim.des.fabric import Fabric
from simlow.sim.des.plan import device_setup, step_blocks
from simlow.sim.des.runner import Recorder, run_ops
from simlow.sim.des.step import Background, Fabricspec


@dataclass(frozen=True)
class Agent:
    request: object          # simlow.sim.request.Request (its engine runs the steps)
    steps: int               # decode steps to run, from context depth + prompt
    prefetch: int = 0


@dataclass(frozen=True)
class AgentResult:
    model: str
    engine: str
    alone_s: float
    together_s: float
    nbytes: float            # bytes its ops moved (the same alone and together)

    @property
    def slowdown(self) -> float:
        return self.together_s / self.alone_s


@dataclass(frozen=True)
class CorunResult:
    agents: tuple[AgentResult, ...]
    moved_alone: dict          # resource -> bytes, summed over the solo runs
    moved_together: dict       # resource -> bytes in the joint run (background excluded)


def _works(agent: Agent):
    req = agent.request
    setup = device_setup(req, agent.prefetch)
    moe = req.model.moe
    distinct = None if moe is None else float(req.routing.distinct(req.batch, moe.experts, moe.top_k))
    start = req.depth + req.prompt
    steps = []
    for s in range(agent.steps):
        blocks = step_blocks(setup, req.batch, 1, start + s, distinct)
        steps.append([w for b in blocks for w in b.unit * b.count])
    return steps, setup.tail_ps


def _simulate(agents: list[Agent], works, fab: Fabricspec) -> tuple[list[int], dict]:
    env = simpy.Environment()
    fabric = Fabric(env, fab.capacities_Bps)
    for bg in fab.background:
        fabric.persistent(bg.path, bg.demand_Bps, tag=bg.name)
    ends = [0] * len(agents)

    def agent_proc(k: int):
        steps, tail = works[k]
        rec = Recorder(fabric, fab.links)
        for ops in steps:
            yield from run_ops(env, fabric, ops, agents[k].prefetch, rec, tail)
        ends[k] = env.now

    procs = [env.process(agent_proc(k)) for k in range(len(agents))]
    env.run(until=env.all_of(procs))
    return ends, fabric.snapshot()


def corun(agents: list[Agent] | tuple[Agent, ...], background: tuple[Background, ...] = ()) -> CorunResult:
    """Run ``agents`` together and each alone (see the module docstring)."""
    agents = list(agents)
    if not agents:
        raise SimlowError("corun needs at least one agent")
    hw = agents[0].request.hw
    if any(a.request.hw.name != hw.name for a in agents):
        raise SimlowError("corun agents must share one device")
    engines = [a.request.engine.name for a in agents]
    if len(set(engines)) != len(engines):
        raise SimlowError(f"corun agents must run on distinct engines, got {engines}")
    works = [_works(a) for a in agents]
    base = device_setup(agents[0].request).fab
    fab = Fabricspec(base.capacities_Bps, base.links, tuple(background))
    together, moved = _simulate(agents, works, fab)
    alone_moved: dict[str, Fraction] = {}
    results = []
    for k, a in enumerate(agents):
        (t,), m = _simulate([a], [works[k]], fab)
        for r, v in m.items():
            alone_moved[r] = alone_moved.get(r, Fraction(0)) + v
        nbytes = sum(w.nbytes for ops in works[k][0] for w in ops)
        results.append(AgentResult(a.request.model.name, a.request.engine.name, seconds(t), seconds(together[k]), nbytes))
    return CorunResult(tuple(results), alone_moved, dict(moved))
