"""One MoE layer's expert computation with an expert cache, as a small SimPy run.

Input: the distinct experts the layer's tokens routed to, each with its token count and
whether it is resident (a cache hit). Misses are copied from host memory over the host
link into device memory (path ``host -> link -> device``), one expert's gate, up and down
weights at a time; every expert kernel then reads its weights from device memory and its
activations, and computes for its tokens.

* ``ring = 0`` (synchronous): all misses are copied first; the experts run once every copy
  has landed.
* ``ring = r > 0`` (async prefetch ring of r slots): copies start as soon as routing is
  known, at most r in flight; resident experts run first while copies proceed, then each
  missing expert runs as soon as its own copy has landed; its slot frees when its kernel
  ends. Copies therefore overlap expert compute. (Speculative prefetch of the *next*
  layer's experts, which would also overlap attention, is not modelled: it needs a
  predictor of future routing.)

Time goes to ``overhead`` (kernel launches), ``link`` (waiting for copies), and
``compute`` or ``memory`` per expert kernel (whichever bounded it).
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from simlow.sim.des.clock import ps
from simlow.sim.des.fabric import Fabric
from simlow.sim.des.step import Fabricspec, StepResult


@dataclass(frozen=True)
class ExpertCost:
    """One expert of one layer group: weight bytes, and per routed token its activation
    bytes and compute seconds; ``launch_ps`` for the expert kernels of the layer."""

    name: str
    weight_bytes: float
    act_bytes_per_token: float
    compute_s_per_token: float
    efficiency: float
    launch_ps: int
    device: str
    copy_path: tuple[str, ...]


def simulate_phase(cost: ExpertCost, experts: tuple[tuple[int, bool], ...], ring: int, fab: Fabricspec) -> StepResult:
    """``experts``: (tokens, resident) per distinct expert, in execution order."""
    env = simpy.Environment()
    fabric = Fabric(env, fab.capacities_Bps)
    for bg in fab.background:
        fabric.persistent(bg.path, bg.demand_Bps, tag=bg.name)
    acc = [0, 0, 0, 0]
    env.run(until=env.process(_phase(env, fabric, cost, experts, ring, acc)))
    return StepResult(env.now, {cost.name: tuple(acc)}, fabric.snapshot(), 1, 1)


def _phase(env, fabric: Fabric, c: ExpertCost, experts, ring: int, acc: list[int]):
    yield env.timeout(c.launch_ps)
    acc[3] += c.launch_ps
    missing = [j for j, (_, resident) in enumerate(experts) if not resident]
    ready = {j: env.event() for j in missing}
    slots = simpy.Container(env, capacity=max(ring, 1), init=max(ring, 1))
    env.process(_copier(env, fabric, c, missing, ready, slots, ring))
    order = [j for j, (_, r) in enumerate(experts) if r] + missing
    if ring == 0 and missing:
        t = env.now
        yield env.all_of(list(ready.values()))
        acc[2] += env.now - t
    for j in order:
        tokens, resident = experts[j]
        if not resident and ring > 0:
            t = env.now
            yield ready[j]
            acc[2] += env.now - t
        t = env.now
        comp = ps(tokens * c.compute_s_per_token)
        flows = [fabric.transfer((c.device,), c.weight_bytes + tokens * c.act_bytes_per_token, c.efficiency)]
        yield env.all_of(flows + [env.timeout(comp)])
        acc[1 if env.now - t <= comp else 0] += env.now - t
        if not resident and ring > 0:
            yield slots.put(1)


def _copier(env, fabric: Fabric, c: ExpertCost, missing, ready, slots, ring: int):
    if ring == 0:
        done = [fabric.transfer(c.copy_path, c.weight_bytes, c.efficiency) for _ in missing]
        for j, ev in zip(missing, done):
            yield ev
            ready[j].succeed()
        return
    for j in missing:
        yield slots.get(1)
        env.process(_copy_one(fabric, c, ready[j]))


def _copy_one(fabric: Fabric, c: ExpertCost, ready):
    yield fabric.transfer(c.copy_path, c.weight_bytes, c.efficiency)
    ready.succeed()
