"""Offload bounds: which bytes each decode step must read from the host, and over what.

**Expert cache** (``offload.expert_cache``): every MoE expert lives in host memory and the device
caches ``fraction`` of them (``N = fraction x experts`` per MoE layer). A step of ``B``
tokens needs, per MoE layer, the distinct experts its tokens routed to; expert ``e`` is
needed with probability ``q_e = 1 - (1 - pi_e) ** B`` (``pi_e``: the routing
distribution's inclusion probability, tokens independent; ``simlow.workload.routing``). A cache
whose contents are fixed before the step's routing is known holds at most the ``N``
experts of largest ``q_e``, so *in expectation* at most ``sum of the N largest q_e`` of
them are hits, whatever the policy (``static`` hottest-N attains it; LRU and LFU cannot
beat it on independent draws). The rest cross the host link every step. A fractional
``N`` counts the next expert for its fraction. This is why the routing is part of every
verdict: under uniform routing a cache of 8% of experts serves 8% of expert reads; under
skewed routing the same cache serves more.

**Layer offload** (``offload.device_layers = n``, llama.cpp ``-ngl n``): the first
``layers - n`` layers' weights live in host memory (layer-less tensors, such as the output
head, stay on the device, as in ``simlow.sim.des.offload``). With ``host: stream`` those
weights cross the host link every step; with ``host: cpu`` those layers run on the host
CPU from host memory, KV cache included, and since a token's layers run one after another,
a step takes at least ``device bytes / device bandwidth + host bytes / host bandwidth``.
``host: auto`` (llama.cpp's default) decodes as ``cpu`` below 32 sequences and as
``stream`` from 32 (``simlow.sim.offload_spec.HostMode``), its KV cache in host memory.

Decode weight bytes count every matrix a token multiplies (embedding rows are a lookup;
a tied embedding is read in full as the head) and ``top_k`` of ``experts`` experts per
MoE layer: the same generous accounting as ``simlow.claims.bounds``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlow.errors import SimlowError
from simlow.sim.offload_spec import HostMode
from simlow.specs import ModelSpec, Scheme
from simlow.specs.scheme import tensor_formats


def routing_of(text: str | None):
    """The routing distribution named by ``text`` (None: uniform)."""
    from simlow.workload.routing import Uniform, parse_routing

    return Uniform() if text is None else parse_routing(text)


@dataclass(frozen=True)
class ExpertTraffic:
    """Expected experts per MoE layer per decode step, split by where they are read from."""

    hits: float                 # distinct experts read from the device cache
    misses: float               # distinct experts copied over the host link
    expert_bytes: float         # one expert of one layer (gate, up, down)
    moe_layers: int

    @property
    def hit_rate(self) -> float:
        return self.hits / (self.hits + self.misses) if self.hits + self.misses else 1.0

    @property
    def link_bytes(self) -> float:
        """Bytes over the host link per step."""
        return self.misses * self.expert_bytes * self.moe_layers

    @property
    def device_bytes(self) -> float:
        """Expert bytes read from device memory per step."""
        return self.hits * self.expert_bytes * self.moe_layers


def _expert_parts(model: ModelSpec, scheme: Scheme) -> tuple[float, int]:
    """Bytes of one expert of one layer, and the number of MoE layers."""
    moe_layers = sum(1 for i in range(model.layers) if model.is_moe_layer(i))
    total = sum(b for t, _, b in tensor_formats(model, scheme) if t.cls.is_expert)
    return total / (moe_layers * model.moe.experts), moe_layers


def expert_traffic(model: ModelSpec, scheme: Scheme, routing, fraction: float, batch: int) -> ExpertTraffic:
    """The best any expert cache of ``fraction`` of experts can do, in expectation."""
    if model.moe is None:
        raise SimlowError(f"{model.name} has no MoE experts to cache")
    moe = model.moe
    q = np.sort(1.0 - (1.0 - routing.inclusion(moe.experts, moe.top_k)) ** batch)[::-1]
    slots = fraction * moe.experts
    whole = int(np.floor(slots))
    hits = float(q[:whole].sum()) + (float(q[whole]) * (slots - whole) if whole < len(q) else 0.0)
    per_expert, layers = _expert_parts(model, scheme)
    return ExpertTraffic(hits, float(q.sum()) - hits, per_expert, layers)


def hit_rate_needed(model: ModelSpec, scheme: Scheme, rate: float, batch: int, link_Bps: float) -> float:
    """The expert-cache hit rate at which ``rate`` tok/s needs all of the host link (batch 1:
    ``top_k`` experts per layer per token)."""
    per_expert, layers = _expert_parts(model, scheme)
    reads = model.moe.top_k * per_expert * layers * rate / batch
    return max(0.0, 1.0 - link_Bps / reads)


def zipf_needed(model: ModelSpec, scheme: Scheme, fraction: float, batch: int, hit: float) -> float | None:
    """The smallest Zipf exponent at which a ``fraction`` cache reaches hit rate ``hit`` in
    expectation (bisection to 0.01), or None if no exponent up to 8 does."""
    from simlow.workload.routing import Zipf

    def rate(s: float) -> float:
        return expert_traffic(model, scheme, Zipf(s), fraction, batch).hit_rate

    lo, hi = 0.0, 8.0
    if rate(lo) >= hit:
        return 0.0
    if rate(hi) < hit:
        return None
    while hi - lo > 0.01:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if rate(mid) >= hit else (mid, hi)
    return hi


@dataclass(frozen=True)
class LayerSplit:
    """Bytes one decode step reads, by where they live, for a layer offload."""

    device_weights: float       # per step (shared by the batch)
    host_weights: float         # per step
    device_kv: float            # per sequence
    host_kv: float              # per sequence (host: cpu only)
    host_resident: float        # weight bytes that live in host memory (all of them, not per step)


def layer_split(model: ModelSpec, scheme: Scheme, device_layers: int, host: HostMode, ctx: int) -> LayerSplit:
    """Per-step reads of a ``-ngl device_layers`` offload at decode position ``ctx``
    (``host``: auto | cpu | stream; auto and cpu keep the host layers' KV cache on the host)."""
    if not 0 <= device_layers <= model.layers:
        raise SimlowError(f"device_layers must be in [0, {model.layers}], got {device_layers}")
    first_device = model.layers - device_layers
    on_host = lambda layer: layer is not None and layer < first_device  # noqa: E731
    dev_w = host_w = resident = 0.0
    for t, _, nbytes in tensor_formats(model, scheme):
        host_t = on_host(t.layer)
        resident += nbytes if host_t else 0.0
        if t.cls.value == "embedding" and not model.tied_embeddings:
            continue
        read = nbytes * model.moe.top_k / model.moe.experts if t.cls.is_expert and model.moe else nbytes
        if host_t:
            host_w += read
        else:
            dev_w += read
    kv = float(model.kv_bytes(scheme.kv_cache, ctx))
    host_kv = float(model.kv_bytes(scheme.kv_cache, ctx, range(first_device))) if host is not HostMode.STREAM else 0.0
    return LayerSplit(dev_w, host_w, kv - host_kv, host_kv, resident)
