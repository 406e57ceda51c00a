"""The agent process: one inference engine issuing its ops one after another.

``run_ops(env, fabric, works, prefetch, rec)`` is a plain SimPy generator. Per op:

1. launch: the engine is busy ``launch_ps`` (kernel launch / dispatch; nothing moves for
   this op yet, as in the roofline, where launch time adds to the op's time);
2. the kernel starts: the weight loads of this op and of the next ``prefetch`` ops are
   issued if not already in flight (prefetch depth 0: every op loads its own weights when
   its kernel starts; depth d: the loads of op j start when op j-d's kernel starts), and
   this op's other streams (KV cache, activations) start;
3. the kernel ends when its compute time has passed *and* all its streams have arrived
   (a kernel overlaps its own loads with its own compute).

``Recorder`` keeps, per op name, the time split by what bounded it (``BOUNDS``: the launch
goes to ``overhead``; the kernel to ``compute`` when the compute time covered it, else to
``link`` or ``memory`` by the path of the stream that arrived last), optional boundary
marks (time, fabric signature, copies of the counters) at chosen op indices, and an
optional per-op trace.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import simpy

from simlow.sim.des.fabric import Fabric
from simlow.sim.des.work import OpWork
from simlow.sim.results import Bound

BOUNDS = (Bound.MEMORY, Bound.COMPUTE, Bound.LINK, Bound.OVERHEAD)   # slot order of Recorder.ops
_M, _C, _L, _O = range(4)


class Recorder:
    def __init__(self, fabric: Fabric, links: Iterable[str], marks: Iterable[int] = (), trace: bool = False):
        self.fabric = fabric
        self.links = frozenset(links)
        self.marks_at = frozenset(marks)
        self.ops: dict[str, list[int]] = {}
        self.marks: dict[int, tuple] = {}
        self.trace: list[tuple] | None = [] if trace else None

    def mark(self, index: int, now: int) -> None:
        if index in self.marks_at:
            self.marks[index] = (now, self.fabric.signature(index),
                                 {k: tuple(v) for k, v in self.ops.items()}, self.fabric.snapshot())

    def op(self, index: int, w: OpWork, t0: int, t1: int, t2: int, arrived: Sequence[tuple[int, tuple]]) -> None:
        acc = self.ops.setdefault(w.name, [0, 0, 0, 0])
        acc[_O] += t1 - t0
        span = t2 - t1
        if span <= w.compute_ps:
            acc[_C] += span
            bound = Bound.COMPUTE
        else:
            _, path = max(arrived, key=lambda a: a[0])
            slot = _L if self.links.intersection(path) else _M
            acc[slot] += span
            bound = BOUNDS[slot]
        if self.trace is not None:
            self.trace.append((index, w.name, w.engine, t0, t1, t2, bound))


def run_ops(env: simpy.Environment, fabric: Fabric, works: Sequence[OpWork], prefetch: int, rec: Recorder,
            tail_ps: int = 0):
    """Run ``works`` in order (see the module docstring); then idle ``tail_ps`` (step overhead)."""
    issued: dict[int, list[tuple[simpy.Event, tuple]]] = {}
    nxt = 0
    for i, w in enumerate(works):
        rec.mark(i, env.now)
        t0 = env.now
        if w.launch_ps:
            yield env.timeout(w.launch_ps)
        t1 = env.now
        while nxt < len(works) and nxt <= i + prefetch:
            issued[nxt] = [(fabric.transfer(f.path, f.nbytes, f.efficiency, tag=nxt, port=f.port), f.path)
                           for f in works[nxt].weights]
            nxt += 1
        flows = issued.pop(i) + [(fabric.transfer(f.path, f.nbytes, f.efficiency, tag=i, port=f.port), f.path)
                                 for f in w.streams]
        waits = [e for e, _ in flows]
        if w.compute_ps:
            waits.append(env.timeout(w.compute_ps))
        if waits:
            yield env.all_of(waits)
        rec.op(i, w, t0, t1, env.now, [(e.value, p) for e, p in flows])
    rec.mark(len(works), env.now)
    if tail_ps:
        yield env.timeout(tail_ps)
        rec.ops.setdefault("step_overhead", [0, 0, 0, 0])[_O] += tail_ps
