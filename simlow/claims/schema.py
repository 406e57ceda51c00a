"""Claim files: vendor and press claims as frozen data, read strictly from YAML.

A claim names a metric, the claimed value and the configuration it is about. Where the
source leaves the hardware or the model unnamed, the claim states its assumption
(``assumptions``) and may list ``candidates``: each candidate replaces some configuration
keys, and the checker answers once per candidate. A relative claim ("2.71x faster than
FP16") gives a ``baseline``: the keys that differ in the configuration it is compared with;
``claimed`` is then the improvement factor in the metric's better direction.

YAML schema (version 1)::

    schema_version: 1
    margins: {above: 0.25, below: 0.5}   # optional, see simlow.claims.verdict.Margins
    claims:
      - id: luce-spark-35b-moe-16gb      # unique, [a-z0-9.-]
        source: "web article on OffQ"    # the document the quote is from (a citation)
        seed: 001_e99170b1f9c3d0b8       # optional: that document's identifier
        quote: "35B Qwen 3.6 MoE runs at 100 tok/s on 16GB VRAM"
        metric: decode_tok_s             # a simlow.claims.metrics.Metric value
        claimed: 100                     # number; a quantity with unit ("18 GB") where the
                                         # metric has one; true/false for ``fits``; a range
                                         # [low, high] ("50-90 GB/s")
        sense: value                     # optional: value | at_most ("at best 55%") |
                                         # at_least ("40+ GB"); see simlow.claims.claimed
        tolerance: 0.05                  # optional: rounding allowed on the claimed figure
        model: qwen3-30b-a3b             # name or path (relative to this file)
        hw: rtx-5060ti-16gb              # name or path
        memory: 16 GB                    # optional: a capacity option of the device
        scheme: q4_k_m                   # name or path
        kv_scheme: kv-q8_0               # optional
        stack: llama.cpp-cuda            # optional: passed to the simulator
        workload: {batch: 1, prompt: 512, gen: 128, depth: 0, ctx: 4096}   # optional
        offload: {experts: static, fraction: 0.08, ring: 8}   # optional, or ``none``
        routing: zipf:1.0                # optional: MoE routing (uniform | zipf:S); default uniform
        reading: "stored file"           # optional: which reading of the words this is
        assume_fits: false               # optional: speeds as if the model fitted (a
                                         # hypothetical baseline: "native speed" of a card
                                         # too small to hold the model)
        part: weights                    # memory_bytes only: weights | kv_cache | total
        cost: {node: 28 nm, design: PoT3+residual, baseline: INT8}   # area/clock ratios
        serving: {engine: vllm, concurrency: 512, requests: 1024}  # serving_tok_s: a server
                                         # under load (``Serving``); prompt / gen from workload
        candidates: [{hw: rtx-4060ti-16gb}, {hw: rtx-5060ti-16gb}]   # optional
        baseline: {scheme: f16}          # optional: makes the claim relative
        assumptions: "closest public model to 'Qwen 3.6 35B'"
    not_checked:                         # claims simlow cannot reason about, with why
      - {id: ..., source: ..., quote: "...", reason: "..."}

``offload`` uses the simulator's vocabulary (``simlow.sim.offload_spec.offload_from``):
``device_layers`` (llama.cpp ``-ngl``: the last n layers on the device) with ``host``
(``cpu``: the other layers run on the host CPU from host memory; ``stream``: their weights
cross the host link every step), and/or ``experts`` (a device cache of MoE experts, all
experts in host memory: ``static`` = the hottest ``fraction`` by the routing, ``lru``,
``lfu``) with ``fraction`` (default 0.08), ``ring`` (async copy slots, 0 = synchronous)
and ``seed``. ``offload: none`` removes an offload in a candidate or baseline. How often
a cached expert is hit is not an input: it follows from ``routing``, which every verdict
on an expert-cache claim names.

Names are resolved when the file is read, so an unknown model, device or scheme is an
error naming the claim and the key, not a verdict.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from simlow.claims.claimed import Claimed
from simlow.claims.metrics import Metric
from simlow.serving.simulate import ServingEngine
from simlow.sim.offload_spec import Offload
from simlow.workload.tokens import Workload

SCHEMA_VERSION = 1
CONFIG_KEYS = ("model", "hw", "memory", "scheme", "kv_scheme", "stack", "workload", "offload", "routing",
               "reading", "assume_fits", "part", "cost", "serving")


class Part(enum.Enum):
    """Which bytes a ``memory_bytes`` claim is about (the ``part`` key)."""

    WEIGHTS = "weights"
    KV_CACHE = "kv_cache"
    TOTAL = "total"          # weights + KV cache + workspace


@dataclass(frozen=True)
class CostQuery:
    """A cost-model comparison: ``design`` against ``baseline`` at ``node_nm``."""

    node_nm: int
    design: str
    baseline: str
    act_bits: int = 8
    int_style: str = "fused"


@dataclass(frozen=True)
class Serving:
    """A server under load, as ``simlow.simulate_serving`` takes it: ``requests`` requests of
    the workload's ``prompt`` / ``gen`` lengths on ``engine``, sent by ``concurrency``
    closed-loop clients, or at ``rate`` requests/s (Poisson) when no concurrency is given;
    ``max_num_seqs`` overrides the engine's default (None: the engine's)."""

    engine: ServingEngine = ServingEngine.VLLM
    requests: int = 1000
    concurrency: int | None = None
    rate: float | None = None
    max_num_seqs: int | None = None

    def label(self) -> str:
        load = f"{self.concurrency} clients" if self.concurrency is not None else f"{self.rate:g} req/s"
        return f"{self.engine.value} server, {load}"


@dataclass(frozen=True)
class Config:
    """One configuration a claim is about (names as written; checked to resolve)."""

    model: str | None = None
    hw: str | None = None
    memory: str | None = None
    scheme: str | None = None
    kv_scheme: str | None = None
    stack: str | None = None
    workload: Workload = Workload()
    offload: Offload | None = None
    routing: str | None = None      # uniform | zipf:S (None: uniform)
    reading: str = ""               # which reading of the claim's words this configuration is
    assume_fits: bool = False       # hypothetical: speeds as if the model fitted in memory
    part: Part = Part.WEIGHTS
    cost: CostQuery | None = None
    serving: Serving | None = None

    def label(self) -> str:
        bits = [_short(self.model), _short(self.scheme), _short(self.kv_scheme), _short(self.hw), self.memory]
        if self.cost is not None:
            bits = [self.cost.design, f"vs {self.cost.baseline}", f"{self.cost.node_nm} nm"]
        if self.offload is not None:
            bits.append(self.offload.label())
            if self.offload.expert_cache is not None:
                bits.append(f"routing {self.routing or 'uniform'}")
        if self.serving is not None:
            bits.extend([_short(self.stack), self.serving.label()])
        if self.assume_fits:
            bits.append("as if it fitted")
        if self.reading:
            bits.append(f"reading: {self.reading}")
        return " / ".join(b for b in bits if b)


def _short(name: str | None) -> str | None:
    """A spec name as shown: the file stem of a path."""
    return Path(name).stem if name and ("/" in name or name.endswith((".yaml", ".yml"))) else name


@dataclass(frozen=True)
class Claim:
    id: str
    source: str
    quote: str
    metric: Metric
    claimed: Claimed | bool
    config: Config
    candidates: tuple[Config, ...] = ()
    baseline: Config | None = None
    tolerance: float = 0.05
    assumptions: str = ""
    seed: str = ""

    @property
    def relative(self) -> bool:
        return self.baseline is not None

    def configs(self) -> tuple[Config, ...]:
        """The configurations to answer for: each candidate, or the claim's own."""
        return self.candidates or (self.config,)


@dataclass(frozen=True)
class NotChecked:
    id: str
    source: str
    quote: str
    reason: str
    seed: str = ""


@dataclass(frozen=True)
class ClaimFile:
    path: str
    claims: tuple[Claim, ...]
    not_checked: tuple[NotChecked, ...]
    margin_above: float = 0.25
    margin_below: float = 0.5
    origin: str = field(default="", compare=False)
