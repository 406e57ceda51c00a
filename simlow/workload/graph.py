"""The op graph: a model's work for one phase, as operations with FLOPs and bytes.

Two layers of the same idea:

* ``OpTemplate`` (``simlow.workload.templates.templates(model, scheme)``): one operation of
  the model with its cost written as *coefficients over workload features*
  (``simlow.workload.op``). It does not know the batch,
  the prompt or the context, so one list of templates serves every phase, every decode step
  and every point of a 100,000-point sweep (the roofline evaluates the features as NumPy
  arrays). Identical layers share one template: ``repeat`` counts them and ``layers`` lists
  them, so an 80-layer model costs one layer's worth of templates.
* ``OpGraph`` (``build_graph(model, scheme, phase)``): the templates evaluated at one
  ``Phase`` into concrete ``Op`` records (numbers per instance), held in a networkx DiGraph
  whose edges are data dependencies. This is the interface the roofline report and the
  discrete-event simulator (``simlow.sim.des``) consume.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from simlow.specs.model import ModelSpec, TensorClass
from simlow.specs.scheme import Scheme
from simlow.workload.engines import runnable_engines
from simlow.workload.features import evaluate, features
from simlow.workload.op import Op, Phase
from simlow.workload.templates import templates


@dataclass(frozen=True)
class OpGraph:
    """The ops of one phase in execution order, plus their dependency DiGraph.

    ``dag`` nodes are op names with attribute ``op`` (an ``Op``); edges point from producer
    to consumer. ``layer_sequence[i]`` names the template chain (by its first op's prefix)
    that layer ``i`` runs, so a simulator can replay the true interleaving of different
    layer kinds (sliding-window and global layers, dense and MoE layers)."""

    model: str
    scheme: str
    phase: Phase
    ops: tuple[Op, ...]
    dag: nx.DiGraph = field(compare=False, repr=False)
    layer_sequence: tuple[int, ...] = ()

    def total(self, quantity: str) -> float:
        """A quantity summed over every op instance (``repeat`` applied)."""
        return sum(getattr(op, quantity) * op.repeat for op in self.ops)

    def flops_by_format(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for op in self.ops:
            out[op.compute] = out.get(op.compute, 0.0) + op.flops * op.repeat
        return out

    def layer_ops(self, layer: int) -> tuple[Op, ...]:
        """The ops layer ``layer`` runs (in order)."""
        return tuple(op for op in self.ops if layer in op.layers)


def build_graph(m: ModelSpec, s: Scheme, phase: Phase, routing=None, hw=None) -> OpGraph:
    """The op graph of ``m`` under scheme ``s`` for one ``phase``.

    ``routing`` (a ``simlow.workload.routing`` distribution; default uniform) sets how many
    distinct experts a MoE layer touches; ``hw`` (optional) fills each op's ``engines``."""
    temps, sequence = templates(m, s)
    distinct = None
    if m.moe is not None:
        from simlow.workload.routing import Uniform

        r = routing if routing is not None else Uniform()
        distinct = float(r.distinct(phase.batch * phase.tokens, m.moe.experts, m.moe.top_k))
    ops = []
    for t in temps:
        f = {k: float(v) for k, v in features(t, phase.batch, phase.tokens, phase.context, distinct).items()}
        ops.append(evaluate(t, f, runnable_engines(t, hw) if hw is not None else ()))
    return OpGraph(m.name, s.name, phase, tuple(ops), _dag(ops), sequence)


_QKV = (TensorClass.ATTN_Q, TensorClass.ATTN_K, TensorClass.ATTN_V)


def _dag(ops: list[Op]) -> nx.DiGraph:
    """Data dependencies in execution order: each op consumes its predecessor's output,
    except that the q, k and v projections are siblings (all read the attention norm's
    output, all feed rope / attention). One node per op template: a template with
    ``repeat > 1`` stands for that many layer instances (see ``OpGraph.layer_sequence``)."""
    g = nx.DiGraph()
    for op in ops:
        g.add_node(op.name, op=op)
    prev: list[str] = []
    norm: list[str] = []
    for op in ops:
        if op.role in _QKV:
            if op.role is TensorClass.ATTN_Q:
                norm = prev
                prev = []
            g.add_edges_from((p, op.name) for p in norm)
            prev = prev + [op.name]
            continue
        g.add_edges_from((p, op.name) for p in prev)
        prev = [op.name]
    return g
