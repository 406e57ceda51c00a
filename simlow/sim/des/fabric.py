"""Shared bandwidth: memories and links as resources, transfers as flows over paths.

A ``Fabric`` holds named resources (a memory's DRAM channels taken together, or a link),
each with a capacity in bytes per second. A transfer is a *flow* of ``nbytes`` over a
``path`` (the resources it crosses: a device read is ``("hbm",)``, a host-to-device copy is
``("host", "pcie", "hbm")``) at an ``efficiency`` (the stack's achieved fraction of peak
bandwidth for that kind of op): moving one byte *occupies* ``1 / efficiency`` bytes of each
resource's capacity (row misses, refresh, protocol overhead), so one flow alone moves at
``efficiency x capacity``, exactly the roofline's rate, and no mix of concurrent flows can
beat the sum of their roofline memory times. Concurrent flows share occupancy by
**max-min fairness** (progressive filling): every flow's occupancy rate rises together
until it reaches its own cap (if any) or one of its resources is full; the remaining
capacity is divided among the others the same way.

Granularity: a flow is a whole operand stream (an op's weights, its KV reads), handled as
a fluid; fair sharing of fluids is the limit of round-robin interleaving of tiles or
bursts, so no per-byte or per-burst events are needed. Rates change only when a flow starts
or ends. Arithmetic is exact: bytes and rates are ``Fraction``; completion times are the
next whole picosecond (``clock``), and a flow that finishes inside a picosecond finishes at
its end. ``moved[resource]`` counts bytes delivered through each resource exactly.

A ``persistent`` flow never ends (background traffic such as a CPU stream with a demand
cap); it takes its fair share until the simulation stops.

**Ports** (stacks whose bandwidth fraction is a rate cap, ``Stack.bandwidth_mode ==
"rate_cap"``): an NPU or a CPU whose low achieved bandwidth comes from its own path to
memory, not from the bus. Such a transfer names a ``port`` (the engine's, ``(name,
capacity_Bps)``, the capacity being the bandwidth of the engine's memory). Its flow is
counted in bytes: one byte occupies one byte of each resource of its path (the bus is
charged only the bytes it moves) and ``1 / efficiency`` bytes of the port. All of an
engine's flows share its port, so alone they move exactly as in the occupancy model
(``sum(bytes_i / efficiency_i) <= capacity x time``, the roofline's memory time), and
with others on the bus a flow gets min(its port share, its fair share of the bus).
Progressive filling then raises every flow's rate (occupancy for ordinary flows, bytes
for port flows: both are bus bytes per second) together, each flow using ``weight x rate``
of each resource it crosses (1 on the path, ``1 / efficiency`` on its port). Ports are not
in ``moved`` (they are not memories or links). Flows of one port with one efficiency finish
exactly as occupancy flows would; with several efficiencies on one port (op classes of
differing fractions in flight at once, prefetch only) the port's total is the same but it
is divided equally in bytes, not in occupancy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Hashable, Mapping

import simpy

from simlow.errors import SimlowError
from simlow.sim.des.clock import rate_per_ps

_ZERO = Fraction(0)


@dataclass(eq=False)
class _Flow:
    path: tuple[str, ...]
    remaining: Fraction | None        # rate units still to move (None: persistent)
    cap: Fraction                     # rate units / ps
    cost: Fraction                    # rate units per byte moved (1 / efficiency; 1 on a port)
    tag: Hashable
    done: simpy.Event | None
    rate: Fraction = field(default=_ZERO)
    uses: tuple[tuple[str, Fraction], ...] = ()   # (resource, its use per rate unit); () = path, 1 each

    def __post_init__(self):
        if not self.uses:
            self.uses = tuple((r, Fraction(1)) for r in self.path)


def _cost(efficiency: float) -> Fraction:
    if not 0 < efficiency <= 1:
        raise SimlowError(f"bandwidth efficiency must be in (0, 1], got {efficiency}")
    return 1 / Fraction(efficiency)


class Fabric:
    """Resources with capacities and the flows crossing them (see the module docstring)."""

    def __init__(self, env: simpy.Environment, capacities_Bps: Mapping[str, float]):
        self.env = env
        self.capacity = {name: rate_per_ps(bps) for name, bps in capacities_Bps.items()}
        self.moved: dict[str, Fraction] = {name: _ZERO for name in capacities_Bps}
        self.ports: dict[str, Fraction] = {}          # port name -> capacity (bytes / ps)
        self._flows: list[_Flow] = []
        self._last = env.now
        self._generation = 0

    # -- public ------------------------------------------------------------------------
    def transfer(self, path: tuple[str, ...], nbytes: float, efficiency: float = 1.0,
                 tag: Hashable = None, port: tuple[str, float] | None = None) -> simpy.Event:
        """An event that succeeds (value: the finish time in ps) when ``nbytes`` have crossed
        every resource of ``path`` at ``efficiency``. Zero bytes succeed at once. With
        ``port`` (name, capacity in bytes/s) the efficiency is charged on that port only
        (module docstring); a port keeps the capacity it was first given."""
        done = self.env.event()
        amount = Fraction(nbytes)
        if amount <= 0:
            done.succeed(self.env.now)
            return done
        cost = _cost(efficiency)
        path = self._check(path)
        if port is None:
            self._start(_Flow(path, amount * cost, self._cap(path, None), cost, tag, done))
            return done
        name, capacity = port
        if name in self.capacity:
            raise SimlowError(f"port {name!r} has the name of a fabric resource")
        cap = self.ports.setdefault(name, rate_per_ps(capacity))
        uses = tuple((r, Fraction(1)) for r in path) + ((name, cost),)
        self._start(_Flow(path, amount, min(self._cap(path, None), cap / cost), Fraction(1), tag, done,
                          uses=uses))
        return done

    def persistent(self, path: tuple[str, ...], demand_Bps: float, efficiency: float = 1.0,
                   tag: Hashable = "background") -> None:
        """Background traffic that never ends, moving up to ``demand_Bps`` bytes per second."""
        cost = _cost(efficiency)
        self._start(_Flow(self._check(path), None, self._cap(path, rate_per_ps(demand_Bps) * cost), cost, tag, None))

    def signature(self, relative_to: int = 0) -> tuple:
        """The in-flight state, for detecting that the simulation repeats itself: per flow
        (tag, remaining occupancy), integer tags taken relative to ``relative_to``."""
        self._advance()
        return tuple((f.tag - relative_to if isinstance(f.tag, int) else f.tag, f.remaining) for f in self._flows)

    def snapshot(self) -> dict[str, Fraction]:
        """Bytes moved through each resource so far (exact)."""
        self._advance()
        return dict(self.moved)

    # -- internals -------------------------------------------------------------------------
    def _check(self, path: tuple[str, ...]) -> tuple[str, ...]:
        if not path or any(r not in self.capacity for r in path):
            raise SimlowError(f"transfer path {path} names a resource the fabric does not have "
                              f"(resources: {', '.join(self.capacity)})")
        return tuple(path)

    def _cap(self, path: tuple[str, ...], cap: Fraction | None) -> Fraction:
        return min(([cap] if cap is not None else []) + [self.capacity[r] for r in path])

    def _start(self, flow: _Flow) -> None:
        self._advance()
        self._flows.append(flow)
        self._reschedule()

    def _advance(self) -> None:
        """Move every flow forward to now at its current rate."""
        dt = self.env.now - self._last
        if dt <= 0:
            return
        self._last = self.env.now
        for f in self._flows:
            step = f.rate * dt
            if f.remaining is not None:
                step = min(step, f.remaining)
                f.remaining -= step
            moved = step / f.cost
            for r in f.path:
                self.moved[r] += moved

    def _reschedule(self) -> None:
        """Finish flows that are done, re-divide the capacity, arm the next completion."""
        finished = [f for f in self._flows if f.remaining is not None and f.remaining <= 0]
        if finished:
            self._flows = [f for f in self._flows if f not in finished]
            for f in finished:
                f.done.succeed(self.env.now)
        self._share()
        self._generation += 1
        times = [math.ceil(f.remaining / f.rate) for f in self._flows if f.remaining is not None]
        if times:
            gen = self._generation
            self.env.timeout(min(times)).callbacks.append(lambda _e, g=gen: self._tick(g))

    def _tick(self, generation: int) -> None:
        if generation != self._generation:
            return                       # rates changed since this timer was armed
        self._advance()
        self._reschedule()

    def _share(self) -> None:
        """Max-min fair rates with caps (progressive filling, exact)."""
        residual = {**self.capacity, **self.ports}
        free = list(self._flows)
        for f in free:
            f.rate = _ZERO
        while free:
            count: dict[str, Fraction] = {}
            for f in free:
                for r, w in f.uses:
                    count[r] = count.get(r, 0) + w
            inc = min(min(residual[r] / n for r, n in count.items()), min(f.cap - f.rate for f in free))
            for f in free:
                f.rate += inc
                for r, w in f.uses:
                    residual[r] -= inc * w
            full = {r for r in count if residual[r] <= 0}
            free = [f for f in free if f.rate < f.cap and not full.intersection(r for r, _ in f.uses)]
