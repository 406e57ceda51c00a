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

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from simlow.claims.claimed import Claimed, read_claimed
from simlow.claims.metrics import Kind, Metric
from simlow.errors import SimlowError
from simlow.sim.offload_spec import POLICIES as EXPERT_POLICIES, ExpertCacheSpec, HostMode, Offload
from simlow.specs import load_hw, load_model, load_scheme
from simlow.specs.scheme import SchemeKind
from simlow.specs.yamlfile import Reader, load_yaml
from simlow.quantities import Dim

SCHEMA_VERSION = 1
CONFIG_KEYS = ("model", "hw", "memory", "scheme", "kv_scheme", "stack", "workload", "offload", "routing",
               "reading", "assume_fits", "part", "cost")
PARTS = ("weights", "kv_cache", "total")
_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")


@dataclass(frozen=True)
class Workload:
    """Sequences and token counts, as ``simlow.sim.predict`` takes them: ``batch``
    sequences each with ``depth`` tokens already cached, a ``prompt``-token prefill, then
    ``gen`` decode steps; ``ctx`` sizes the KV cache (default ``depth + prompt + gen``)."""

    batch: int = 1
    prompt: int = 512
    gen: int = 128
    depth: int = 0
    ctx: int | None = None

    @property
    def context(self) -> int:
        return self.ctx if self.ctx is not None else self.depth + self.prompt + self.gen


@dataclass(frozen=True)
class CostQuery:
    """A cost-model comparison: ``design`` against ``baseline`` at ``node_nm``."""

    node_nm: int
    design: str
    baseline: str
    act_bits: int = 8
    int_style: str = "fused"


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
    part: str = "weights"
    cost: CostQuery | None = None

    def label(self) -> str:
        bits = [_short(self.model), _short(self.scheme), _short(self.kv_scheme), _short(self.hw), self.memory]
        if self.cost is not None:
            bits = [self.cost.design, f"vs {self.cost.baseline}", f"{self.cost.node_nm} nm"]
        if self.offload is not None:
            bits.append(self.offload.label())
            if self.offload.expert_cache is not None:
                bits.append(f"routing {self.routing or 'uniform'}")
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


def load_claims(path: Path | str) -> ClaimFile:
    """Read and validate a claim file; every problem names the claim id and key."""
    path = Path(path)
    r = Reader(load_yaml(path), str(path))
    version = r.int("schema_version")
    if version != SCHEMA_VERSION:
        r.fail(f"schema_version {version} is not supported (this simlow reads {SCHEMA_VERSION})", "schema_version")
    above, below = 0.25, 0.5
    m = r.sub("margins", required=False)
    if m is not None:
        above, below = m.number("above", default=above, lo=0.0, hi=10.0), m.number("below", default=below, lo=0.0, hi=1.0)
        m.done()
    base_dir = path.resolve().parent
    claims = tuple(_claim(c, i, str(path), base_dir) for i, c in enumerate(r.list("claims")))
    skipped = tuple(_not_checked(c, i, str(path)) for i, c in enumerate(r.list("not_checked", required=False)))
    r.done()
    ids = [c.id for c in claims] + [n.id for n in skipped]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SimlowError(f"{path}: claim id {dup[0]!r} is used more than once")
    return ClaimFile(str(path), claims, skipped, above, below, origin=str(path))


def _claim_reader(item: Any, index: int, origin: str, list_key: str) -> tuple[Reader, str]:
    where = f"{origin}: {list_key}[{index}]"
    if not isinstance(item, dict):
        raise SimlowError(f"{where}: expected a mapping")
    cid = item.get("id")
    if not isinstance(cid, str) or not _ID.match(cid):
        raise SimlowError(f"{where}: id: expected lowercase text of letters, digits, '.' and '-', got {cid!r}")
    return Reader(item, f"{origin}: claim {cid!r}"), cid


def _not_checked(item: Any, index: int, origin: str) -> NotChecked:
    r, cid = _claim_reader(item, index, origin, "not_checked")
    r.str("id")
    n = NotChecked(cid, r.str("source"), r.str("quote"), r.str("reason"), r.str("seed", default=""))
    r.done()
    return n


def _claim(item: Any, index: int, origin: str, base_dir: Path) -> Claim:
    r, cid = _claim_reader(item, index, origin, "claims")
    r.str("id")
    metric_text = r.str("metric", choices=tuple(m.value for m in Metric))
    metric = Metric(metric_text)
    config = _config(r, Config(), base_dir, "")
    candidates = tuple(_config(c, config, base_dir, "candidates") for c in r.readers("candidates", required=False))
    baseline_r = r.sub("baseline", required=False)
    baseline = _config(baseline_r, config, base_dir, "baseline") if baseline_r is not None else None
    claim = Claim(
        id=cid, source=r.str("source"), quote=r.str("quote"), metric=metric,
        claimed=read_claimed(r, metric, baseline is not None),
        config=config, candidates=candidates, baseline=baseline,
        tolerance=r.number("tolerance", default=0.05, lo=0.0, hi=1.0),
        assumptions=r.str("assumptions", default=""), seed=r.str("seed", default=""),
    )
    r.done()
    _check_complete(r, claim)
    return claim


def _config(r: Reader, parent: Config, base_dir: Path, what: str) -> Config:
    """Read the configuration keys present in ``r`` over ``parent``'s values."""
    values: dict[str, Any] = {}
    for key, kind in (("model", "model"), ("hw", "hardware"), ("scheme", "scheme"), ("kv_scheme", "scheme")):
        if r.has(key):
            values[key] = _name(r, key, kind, base_dir)
    if r.has("memory"):
        values["memory"] = r.str("memory")
        r.quantity("memory", Dim.BYTES)
    if r.has("stack"):
        values["stack"] = r.str("stack")
    if r.has("part"):
        values["part"] = r.str("part", choices=PARTS)
    if r.has("workload"):
        values["workload"] = _workload(r.sub("workload"), parent.workload)
    if r.has("offload"):
        values["offload"] = None if r.data["offload"] in ("none", None) else _offload(r.sub("offload"))
    if r.has("routing"):
        values["routing"] = _routing(r)
    if r.has("reading"):
        values["reading"] = r.str("reading")
    if r.has("assume_fits"):
        values["assume_fits"] = r.bool("assume_fits")
    if r.has("cost"):
        values["cost"] = _cost(r.sub("cost"))
    config = replace(parent, **values)
    if what:
        if not values:
            r.fail(f"a {what.rstrip('s')} entry must change at least one of {', '.join(CONFIG_KEYS)}")
        r.done()
    _check_resolves(r, config)
    return config


def _name(r: Reader, key: str, kind: str, base_dir: Path) -> str:
    text = r.str(key)
    if "/" in text or text.endswith((".yaml", ".yml", ".json", ".gguf")):
        candidate = Path(text)
        text = str(candidate if candidate.is_absolute() else (base_dir / candidate).resolve())
    try:
        {"model": load_model, "hardware": load_hw, "scheme": load_scheme}[kind](text)
    except SimlowError as err:
        r.fail(str(err), key)
    return text


def _check_resolves(r: Reader, c: Config) -> None:
    if c.hw is not None and c.memory is not None:
        try:
            load_hw(c.hw, c.memory)
        except SimlowError as err:
            r.fail(str(err), "memory")
    if c.kv_scheme is not None and load_scheme(c.kv_scheme).kind is not SchemeKind.KV:
        r.fail(f"{c.kv_scheme!r} is not a KV-cache scheme", "kv_scheme")
    if c.scheme is not None and load_scheme(c.scheme).kind is not SchemeKind.WEIGHTS:
        r.fail(f"{c.scheme!r} is a KV-cache scheme; give it as kv_scheme", "scheme")


def _workload(r: Reader, parent: Workload) -> Workload:
    w = Workload(
        batch=r.int("batch", default=parent.batch, minimum=1),
        prompt=r.int("prompt", default=parent.prompt, minimum=1),
        gen=r.int("gen", default=parent.gen, minimum=1),
        depth=r.int("depth", default=parent.depth, minimum=0),
        ctx=r.int("ctx", default=parent.ctx or 0, minimum=0) or None,
    )
    r.done()
    return w


def _offload(r: Reader) -> Offload:
    """An offload mapping in the simulator's vocabulary, checked key by key."""
    keys = ("device_layers", "host", "experts", "fraction", "ring", "seed")
    for key in r.keys():
        if key not in keys:
            r.fail(f"unknown key (valid here: {', '.join(keys)})", key)
    layers = r.int("device_layers", minimum=0) if r.has("device_layers") else None
    host = HostMode(r.str("host", default="auto", choices=tuple(m.value for m in HostMode)))
    experts = r.str("experts", choices=EXPERT_POLICIES) if r.has("experts") else None
    if experts is None:
        for key in ("fraction", "ring", "seed"):
            if r.has(key):
                r.fail(f"{key} describes an expert cache; add experts: {' | '.join(EXPERT_POLICIES)}", key)
        if layers is None:
            r.fail("an offload needs device_layers (layer offload) or experts (expert cache), or write none")
    cache = None if experts is None else ExpertCacheSpec(
        experts, r.number("fraction", default=0.08, lo=0.0, hi=1.0), r.int("ring", default=0, minimum=0),
        r.int("seed", default=0, minimum=0))
    o = Offload(device_layers=layers, host=host, expert_cache=cache)
    r.done()
    return o


def _routing(r: Reader) -> str:
    from simlow.workload.routing import parse_routing

    text = r.str("routing")
    try:
        parse_routing(text)
    except SimlowError as err:
        r.fail(str(err), "routing")
    return text


def _cost(r: Reader) -> CostQuery:
    node = r.quantity("node", Dim.LENGTH)
    q = CostQuery(node_nm=round(node * 1e9), design=r.str("design"), baseline=r.str("baseline"),
                  act_bits=r.int("act_bits", default=8, minimum=1),
                  int_style=r.str("int_style", default="fused", choices=("fused", "unfused", "pipelined")))
    r.done()
    return q


def _check_complete(r: Reader, claim: Claim) -> None:
    """Every configuration to answer for has the keys its metric needs."""
    configs = claim.configs() + ((claim.baseline,) if claim.baseline else ())
    for c in configs:
        for key in claim.metric.needs:
            if getattr(c, key) is None:
                r.fail(f"metric {claim.metric.value} needs {key} (in the claim or in every candidate)", key)
    if claim.relative and claim.metric.kind in (Kind.SPEC, Kind.COST, Kind.CAPACITY) \
            and claim.metric is not Metric.COMPUTE_PEAK:
        r.fail(f"metric {claim.metric.value} cannot be relative; drop the baseline", "baseline")
