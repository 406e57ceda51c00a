"""Prediction: what a simulation of one workload on one device under one stack says.

Throughputs are aggregate over the batch: ``decode_tok_s = batch * gen / decode time``,
``prefill_tok_s = batch * prompt / prefill time``. ``ttft_s`` is the prefill time (the
first token's logits come out of the last prefill step); with no prompt it is the first
decode step. ``energy_j_per_token`` is decode energy per generated token (prefill energy
per prompt token is in ``energy``). ``bound`` names what limits each phase: ``memory``,
``compute``, ``link`` (offload traffic) or ``overhead`` (launch and host costs).
``timeline`` lists each op of each phase with its start and duration (summed over its
layer instances and steps) in execution order.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields
from typing import Mapping

from simlow.errors import SimlowError


class Fidelity(enum.StrEnum):
    """Which model of the machine answered: the vectorized ``roofline`` or the SimPy ``des``."""
    ROOFLINE = "roofline"
    DES = "des"

    @classmethod
    def parse(cls, value: "Fidelity | str") -> "Fidelity":
        try:
            return cls(value)
        except ValueError:
            raise SimlowError(f"unknown fidelity {value!r} (valid: {', '.join(f.value for f in cls)})") from None


class Bound(enum.StrEnum):
    """What limits an op or a phase: the largest share of its time."""
    MEMORY = "memory"       # bytes over the memory's (or link's, for offloaded weights) bandwidth
    COMPUTE = "compute"     # ops over the engine's peak rate
    OVERHEAD = "overhead"   # kernel launches and per-step host costs
    LINK = "link"           # traffic between devices or over an offload link


@dataclass(frozen=True)
class TimelineEntry:
    phase: str              # prefill | decode
    op: str                 # op (template) name from the graph
    start_s: float
    duration_s: float       # summed over the op's layer instances (and decode steps)
    bound: Bound            # what dominated this op
    flops: float
    bytes: float
    format: str             # the number format it ran in
    layers: tuple[int, ...] = ()  # the layers it stands for (its repeat count is their number; () for one op)


@dataclass(frozen=True)
class Prediction:
    model: str
    hw: str
    scheme: str
    stack: str
    engine: str
    fidelity: Fidelity
    batch: int
    prompt: int
    gen: int
    ctx: int
    depth: int
    prefill_tok_s: float | None
    decode_tok_s: float | None
    ttft_s: float
    prefill_s: float
    decode_s: float
    energy_j_per_token: float | None
    energy: Mapping[str, float]
    memory: Mapping[str, object]
    fits: bool
    shortfall_bytes: float
    bound: Mapping[str, Bound]
    timeline: tuple[TimelineEntry, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def to_dict(self, timeline: bool = True) -> dict:
        """A plain JSON-able dict (``timeline=False`` leaves the per-op timeline out)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["energy"] = dict(self.energy)
        d["memory"] = dict(self.memory)
        d["bound"] = dict(self.bound)
        d["notes"] = list(self.notes)
        d["timeline"] = [asdict(e) for e in self.timeline] if timeline else []
        return d
