"""From a resolved request to the blocks of one step: templates, placement, fabric.

``Setup`` is what stays fixed across the steps of a prediction: the templates and layer
sequence of the model under its scheme, where each layer runs (``Place``), the fabric's
resources (every memory and link of the device) and the stack's step overhead.
``step_blocks(setup, batch, tokens, context, distinct)`` evaluates the templates at one
phase and arranges them as ``Block``s (embedding, folded layer runs, head).

Placement of layers (``layer_place[i]``: ``Where.DEVICE`` or ``Where.HOST``) comes from
``simlow.sim.des.offload``; when consecutive layers sit on different sides, the hidden state
crosses the host link (an ``act_to_host`` / ``act_to_device`` transfer of
``tokens x hidden`` activations). Embedding and lm_head run on the device.

Several devices (``req.parallel``, ``simlow.sim.parallel``): in tensor parallel the group
runs as one device with its machine's rates and its memory's bandwidth N times one's, and
every layer ends with two ``all_reduce`` ops on the peer link (launch = the NCCL protocol's
latency, a stream of the ring's bytes per link at its bandwidth fraction); in a layer split
the devices run in sequence, so one device's fabric stands for each, and every boundary adds
a ``handover`` op (latency, then the activations over the link) after the layers. Pipeline
parallel at one micro-batch (batch 1, ``simlow.sim.pipeline``) runs like a layer split of
tensor-parallel groups: the layers' all-reduces, then ``pp - 1`` ``stage_transfers`` sends of
the hidden state and residual after the layers.
"""

from __future__ import annotations

import enum

from dataclasses import dataclass, replace
from typing import Mapping

from simlow.workload.op import OpTemplate, VALUE_BYTES
from simlow.workload.templates import templates
from simlow.sim.des.clock import ps
from simlow.sim.des.step import Background, Block, Fabricspec, blocks_of
from simlow.sim.des.work import FlowSpec, OpWork, Place, op_work, scalar_features
from simlow.sim.machine import machine
from simlow.sim.parallel import (COMM_BYTES, HANDOVER_BYTES, HANDOVER_LATENCY_S, PeerLink, allreduce_plan,
                                 comm_op, group_machine, peer_link, split_boundaries)
from simlow.sim.pipeline import STAGE_BYTES, STAGE_VALUES


class Where(enum.StrEnum):
    """Where an op runs and reads its weights from (a key of ``Setup.places``)."""
    DEVICE = "device"       # the request's engine and its memory
    HOST = "host"           # layers kept in host memory (offload)
    EXPERTS = "experts"     # MoE expert weights streamed over the link (expert cache)


@dataclass(frozen=True)
class Setup:
    req: object                              # simlow.sim.request.Request
    temps: tuple[OpTemplate, ...]
    sequence: tuple[int, ...]
    places: Mapping[Where, Place]
    layer_place: tuple[Where, ...]
    fab: Fabricspec
    prefetch: int
    tail_ps: int
    link_path: tuple[str, ...] = ()          # device memory -> link -> host memory
    expert_place: Where | None = None          # where MoE expert weights are read from, if not the layer's
    peer: PeerLink | None = None             # the link between the devices of req.parallel


def fabric_of(hw, background: tuple[Background, ...] = ()) -> Fabricspec:
    caps = {m.name: m.bandwidth_Bps for m in hw.memories}
    caps.update({l.name: l.bandwidth_Bps for l in hw.links})
    return Fabricspec(caps, frozenset(l.name for l in hw.links), tuple(background))


def device_setup(req, prefetch: int = 0, background: tuple[Background, ...] = (),
                 places: Mapping[Where, Place] | None = None, layer_place: tuple[Where, ...] | None = None,
                 link_path: tuple[str, ...] = ()) -> Setup:
    """Everything on the request's engine and its memory, unless ``places`` /
    ``layer_place`` say otherwise."""
    temps, sequence = templates(req.model, req.scheme)
    par = getattr(req, "parallel", None)
    tp = par.tp if par is not None else 1
    dev = Place(req.engine.name, group_machine(machine(req.hw, req.stack, req.engine), tp), req.engine.memory)
    places = dict(places or {})
    places.setdefault(Where.DEVICE, dev)
    lp = layer_place or (Where.DEVICE,) * req.model.layers
    fab = fabric_of(req.hw, background)
    if tp > 1:
        mem = req.engine.memory
        fab = replace(fab, capacities_Bps={**fab.capacities_Bps, mem: tp * fab.capacities_Bps[mem]})
    return Setup(req, temps, sequence, places, lp, fab, prefetch, ps(req.stack.step_overhead_s), link_path,
                 peer=peer_link(req.hw, par.link) if par is not None else None)


def _collectives(s: Setup, rows: int) -> tuple[tuple[OpWork, ...], tuple[OpWork, ...]]:
    """(ops ending every layer, ops after the layers) of the request's device group."""
    par = s.req.parallel
    values = rows * s.req.model.hidden_size
    if par.split:
        lat = s.peer.latency_s if s.peer.latency_s is not None else HANDOVER_LATENCY_S
        hop = OpWork(comm_op(par), "vector", s.req.engine.name, ps(lat), 0, 0.0, (),
                     (FlowSpec((s.peer.name,), values * HANDOVER_BYTES, 1.0),))
        return (), (hop,) * split_boundaries(s.req.model.layers, par.split)
    per_layer: tuple[OpWork, ...] = ()
    if par.tp > 1:
        lat, wire, frac = allreduce_plan(values * COMM_BYTES, par.tp, s.peer)
        ar = OpWork(comm_op(par), "vector", s.req.engine.name, ps(lat), 0, 0.0, (),
                    (FlowSpec((s.peer.name,), wire, frac),))
        per_layer = (ar, ar)
    if par.pp == 1:
        return per_layer, ()
    lat = s.peer.latency_s if s.peer.latency_s is not None else HANDOVER_LATENCY_S
    send = OpWork(comm_op(par), "vector", s.req.engine.name, ps(lat), 0, 0.0, (),
                  (FlowSpec((s.peer.name,), values * STAGE_VALUES * STAGE_BYTES, 1.0),))
    return per_layer, (send,) * (par.pp - 1)


def step_blocks(s: Setup, batch: int, tokens: int, context: int, distinct: float | None,
                expert_units: Mapping[int, tuple[OpWork, ...]] | None = None) -> list[Block]:
    """The blocks of one step. ``expert_units`` (layer -> works), when given, replaces the
    expert ops of those layers (the expert cache's per-layer work)."""
    cache: dict[tuple[str, str], OpWork] = {}

    def work(t: OpTemplate, where: str) -> OpWork:
        if s.expert_place is not None and t.expert:
            where = s.expert_place
        key = (t.name, where)
        if key not in cache:
            cache[key] = op_work(t, scalar_features(t, batch, tokens, context, distinct), s.places[where])
        return cache[key]

    by_group: dict[int, list[OpTemplate]] = {}
    head, tail = [], []
    for t in s.temps:
        g = t.group
        (by_group.setdefault(g, []) if g is not None else (head if not by_group else tail)).append(t)

    per_layer, after = _collectives(s, batch * tokens) if s.peer is not None else ((), ())

    def unit(i: int) -> tuple[OpWork, ...]:
        ops = by_group[s.sequence[i]]
        if expert_units is None or i not in expert_units:
            return tuple(work(t, s.layer_place[i]) for t in ops) + per_layer
        out, placed = [], False
        for t in ops:
            if t.expert:
                if not placed:
                    out.extend(expert_units[i])
                    placed = True
            else:
                out.append(work(t, s.layer_place[i]))
        return tuple(out) + per_layer

    blocks = [Block(tuple(work(t, Where.DEVICE) for t in head))]
    if expert_units is not None:
        blocks += [Block(unit(i)) for i in range(len(s.sequence))]
    else:
        blocks += _layer_blocks(s, unit, batch * tokens)
    blocks += [Block((w,)) for w in after]
    blocks.append(Block(tuple(work(t, Where.DEVICE) for t in tail)))
    return blocks


def _layer_blocks(s: Setup, unit, rows: int) -> list[Block]:
    out: list[Block] = []
    n = len(s.sequence)
    start = 0
    act = rows * s.req.model.hidden_size * VALUE_BYTES[s.req.scheme.activations]
    prev = Where.DEVICE
    while start < n:
        where = s.layer_place[start]
        end = start
        while end < n and s.layer_place[end] == where:
            end += 1
        if where != prev:
            out.append(Block((_hop(s, prev, where, act),)))
        seq = [(s.sequence[i], where) for i in range(start, end)]
        out += blocks_of(seq, lambda j, a=start: unit(a + j))
        prev, start = where, end
    if prev is not Where.DEVICE:
        out.append(Block((_hop(s, prev, Where.DEVICE, act),)))
    return out


def _hop(s: Setup, src: str, dst: str, nbytes: float) -> OpWork:
    path = s.link_path if src is Where.DEVICE else tuple(reversed(s.link_path))
    return OpWork(f"act_to_{dst}", "vector", s.places[dst].engine, 0, 0, 0.0,
                  (), (FlowSpec(path, nbytes, 1.0),))
