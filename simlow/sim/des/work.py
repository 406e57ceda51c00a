"""Work items: the op graph's templates turned into what the simulator executes.

An ``OpWork`` is one op instance (one layer's ``attn_q``, the step's ``lm_head``): a launch
cost on its engine, a compute time, and its byte streams as ``FlowSpec`` (path, bytes,
rate cap). ``weights`` are the streams a prefetcher may issue early; ``streams`` (KV cache
reads and writes, activations) start with the kernel. Numbers come from the same
functions the roofline uses (``roofline.op_terms`` through the stack's ``Machine``), so the
two fidelities price identical work:

    compute_ps = ceil(t_compute)                 flops / (peak[format] * compute_eff[class])
    efficiency = bandwidth_eff[class]            each byte occupies 1/efficiency of a resource,
                                                 or, under a rate-cap stack
                                                 (Machine.bandwidth_rate_cap), of the engine's
                                                 port only (FlowSpec.port; fabric docstring)
    launch_ps  = ceil(launches * kernel_overhead)  (simlow.sim.roofline.launches)

Placement (``simlow.sim.des.offload``) says where a layer's weights and KV cache live and
which engine runs it; by default everything is in the engine's own memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from simlow.workload.features import features
from simlow.workload.op import OpTemplate
from simlow.sim.des.clock import ps
from simlow.sim.roofline import Machine, launches, op_terms


@dataclass(frozen=True)
class FlowSpec:
    path: tuple[str, ...]
    nbytes: float
    efficiency: float
    port: tuple[str, float] | None = None     # (engine port, capacity B/s): efficiency charged there


@dataclass(frozen=True)
class OpWork:
    name: str                       # template name (layers0.attn_q)
    op_class: str
    engine: str
    launch_ps: int
    compute_ps: int
    flops: float
    weights: tuple[FlowSpec, ...]
    streams: tuple[FlowSpec, ...]

    @property
    def nbytes(self) -> float:
        return sum(f.nbytes for f in self.weights + self.streams)


@dataclass(frozen=True)
class Place:
    """Where one op instance runs and where its operands live.

    ``engine`` runs it under ``machine``; ``memory`` is that engine's memory (KV cache and
    activations); weights come over ``weight_path`` (default: ``(memory,)``)."""

    engine: str
    machine: Machine
    memory: str
    weight_path: tuple[str, ...] | None = None


def op_work(t: OpTemplate, feats: Mapping[str, float], place: Place) -> OpWork:
    """One instance of template ``t`` at phase features ``feats`` placed by ``place``."""
    m = place.machine
    cls = t.op_class.value
    _, _, t_comp, _ = op_terms(t, feats, m)
    eff = m.bandwidth_eff[cls]
    w_bytes = float(t.value("weight_read", feats))
    other = float(sum(t.value(q, feats) for q in ("kv_read", "kv_write", "act_read", "act_write")))
    port = (f"port:{place.engine}", float(m.bandwidth_Bps)) if m.bandwidth_rate_cap else None
    weights = (FlowSpec(place.weight_path or (place.memory,), w_bytes, eff, port),) if w_bytes > 0 else ()
    streams = (FlowSpec((place.memory,), other, eff, port),) if other > 0 else ()
    launch = ps(float(launches(t, feats, m)) * float(m.kernel_overhead_s))
    return OpWork(t.name, cls, place.engine, launch, ps(float(t_comp)),
                  float(t.value("flops", feats)), weights, streams)


def scalar_features(t: OpTemplate, batch: int, tokens: int, context: int, distinct: float | None) -> dict:
    return {k: float(v) for k, v in features(t, batch, tokens, context, distinct).items()}
