"""One forward step in the DES, with identical layers folded.

A step is a sequence of ``Block``s: a unit of op works (one layer, or one period of a
repeating layer pattern) run ``count`` times. Simulating 80 identical layers event by event
is wasted work once the pipeline is in a steady state, so a block of more than ``fold``
units is simulated with only ``fold`` of them, and the simulator checks that the state at
the start of the last two simulated units is the same (``Fabric.signature``: every in-flight
flow's tag relative to the op index and its exact remaining occupancy). The system is
deterministic and its state at a unit boundary plus the ops ahead fixes everything after,
so equal states mean every further unit repeats the last period exactly: the full step is
the reduced one plus ``count - fold`` periods (time, per-op times and bytes per resource).
This needs the prefetch lookahead to stay inside the next unit (``prefetch <= len(unit)``);
when it does not, or the states differ, the block is simulated with 4 x ``fold`` units
and then, if the states still differ (a pipeline that only converges geometrically), in
full. Folding is exact, not an approximation: a test compares it with the
unfolded simulation.

Only the step's own agent may use the fabric (plus constant ``background`` flows); runs
of several agents at once (``unified``) do not fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping, Sequence

import simpy

from simlow.sim.des.fabric import Fabric
from simlow.sim.des.runner import Recorder, run_ops
from simlow.sim.des.work import OpWork

FOLD = 3


@dataclass(frozen=True)
class Block:
    unit: tuple[OpWork, ...]
    count: int = 1


@dataclass(frozen=True)
class Background:
    """Constant background traffic: ``demand_Bps`` over ``path`` for the whole run."""

    path: tuple[str, ...]
    demand_Bps: float
    name: str = "background"


@dataclass(frozen=True)
class StepResult:
    time_ps: int
    ops: Mapping[str, tuple[int, int, int, int]]     # name -> ps by runner.BOUNDS
    moved: Mapping[str, Fraction]                    # bytes through each resource (own agent's
                                                     # flows and background alike)
    units_simulated: int
    units_total: int
    trace: tuple = field(default=(), compare=False)


@dataclass(frozen=True)
class Fabricspec:
    capacities_Bps: Mapping[str, float]
    links: frozenset[str] = frozenset()
    background: tuple[Background, ...] = ()


def simulate_step(blocks: Sequence[Block], fab: Fabricspec, prefetch: int = 0, tail_ps: int = 0,
                  fold: int | None = FOLD, trace: bool = False) -> StepResult:
    """Simulate one step (see the module docstring); ``fold=None`` simulates every unit."""
    if fold is not None and fold < 2:
        raise ValueError("fold needs at least 2 simulated units to compare states")
    k = fold
    while True:
        plan = [b.count if k is None or b.count <= k or prefetch > len(b.unit) else k for b in blocks]
        result = _run(blocks, plan, fab, prefetch, tail_ps, trace)
        if result is not None:
            return result
        k = k * 4 if k == fold else None


def _run(blocks, plan, fab: Fabricspec, prefetch, tail_ps, trace) -> StepResult | None:
    works: list[OpWork] = []
    folds = []                      # (block, simulated, index of unit n-2 start, index of unit n-1 start)
    for b, n in zip(blocks, plan):
        if n < b.count:
            size = len(b.unit)
            folds.append((b, n, len(works) + (n - 2) * size, len(works) + (n - 1) * size))
        works.extend(b.unit * n)
    env = simpy.Environment()
    fabric = Fabric(env, fab.capacities_Bps)
    for bg in fab.background:
        fabric.persistent(bg.path, bg.demand_Bps, tag=bg.name)
    rec = Recorder(fabric, fab.links, [i for f in folds for i in f[2:]], trace)
    proc = env.process(run_ops(env, fabric, works, prefetch, rec, tail_ps))
    env.run(until=proc)
    time, ops, moved = env.now, {k: list(v) for k, v in rec.ops.items()}, fabric.snapshot()
    for b, n, i0, i1 in folds:
        (t0, s0, o0, m0), (t1, s1, o1, m1) = rec.marks[i0], rec.marks[i1]
        if s0 != s1:
            return None
        extra = b.count - n
        time += extra * (t1 - t0)
        for name, v1 in o1.items():
            v0 = o0.get(name, (0, 0, 0, 0))
            ops[name] = [a + extra * (x1 - x0) for a, x1, x0 in zip(ops[name], v1, v0)]
        for r in moved:
            moved[r] += extra * (m1[r] - m0[r])
    total = sum(b.count for b in blocks)
    return StepResult(time, {k: tuple(v) for k, v in ops.items()}, moved, sum(plan), total,
                      tuple(rec.trace or ()))


def blocks_of(sequence: Sequence[int], unit_of) -> list[Block]:
    """Blocks for a layer sequence: ``unit_of(layer) -> tuple[OpWork, ...]`` and
    ``sequence[i]`` a hashable kind per layer. The sequence's smallest period ``p`` (if it
    repeats at least twice) makes a block of ``len // p`` units of ``p`` layers, the rest
    one block each; otherwise runs of equal kinds are blocks of single layers."""
    n = len(sequence)
    seq = list(sequence)
    p = next((p for p in range(1, n // 2 + 1) if all(seq[i] == seq[i + p] for i in range(n - p))), None)
    if p is not None:
        q = n // p
        unit = tuple(w for i in range(p) for w in unit_of(i))
        out = [Block(unit, q)]
        out += [Block(unit_of(i)) for i in range(q * p, n)]
        return out
    out: list[Block] = []
    i = 0
    while i < n:
        j = i
        while j < n and seq[j] == seq[i]:
            j += 1
        out.append(Block(unit_of(i), j - i))
        i = j
    return out
