"""Reading claim files: the YAML schema of ``simlow.claims.schema`` validated strictly into
its frozen types; every problem names the file, the claim id and the key."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from simlow.claims.claimed import read_claimed
from simlow.claims.metrics import Kind, Metric
from simlow.claims.schema import (CONFIG_KEYS, SCHEMA_VERSION, Claim, ClaimFile, Config, CostQuery,
                                  NotChecked, Part, Serving)
from simlow.serving.simulate import ServingEngine
from simlow.errors import SimlowError
from simlow.sim.offload_spec import CachePolicy, ExpertCacheSpec, HostMode, Offload
from simlow.specs import load_hw, load_model, load_scheme
from simlow.specs.scheme import SchemeKind
from simlow.specs.yamlfile import Reader, load_yaml
from simlow.quantities import Dim
from simlow.workload.tokens import Workload

_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")


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
        values["part"] = Part(r.str("part", choices=tuple(p.value for p in Part)))
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
    if r.has("serving"):
        values["serving"] = _serving(r.sub("serving"), parent.serving or Serving())
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


def _serving(r: Reader, parent: Serving) -> Serving:
    """A ``serving`` mapping over ``parent``'s values (a baseline may change one key)."""
    engine = r.str("engine", default=parent.engine.value, choices=tuple(e.value for e in ServingEngine))
    conc = r.int("concurrency", minimum=1) if r.has("concurrency") else parent.concurrency
    rate = r.number("rate", lo=1e-9, hi=1e9) if r.has("rate") else parent.rate
    if conc is None and rate is None:
        r.fail("a serving load needs concurrency (closed-loop clients) or rate (requests/s)")
    s = Serving(ServingEngine(engine), r.int("requests", default=parent.requests, minimum=1), conc, rate,
                r.int("max_num_seqs", minimum=1) if r.has("max_num_seqs") else parent.max_num_seqs)
    r.done()
    return s


def _offload(r: Reader) -> Offload:
    """An offload mapping in the simulator's vocabulary, checked key by key."""
    keys = ("device_layers", "host", "experts", "fraction", "ring", "seed")
    for key in r.keys():
        if key not in keys:
            r.fail(f"unknown key (valid here: {', '.join(keys)})", key)
    layers = r.int("device_layers", minimum=0) if r.has("device_layers") else None
    host = HostMode(r.str("host", default="auto", choices=tuple(m.value for m in HostMode)))
    policies = tuple(p.value for p in CachePolicy)
    experts = CachePolicy(r.str("experts", choices=policies)) if r.has("experts") else None
    if experts is None:
        for key in ("fraction", "ring", "seed"):
            if r.has(key):
                r.fail(f"{key} describes an expert cache; add experts: {' | '.join(policies)}", key)
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
    if claim.metric.kind is not Kind.SERVING and any(c.serving is not None for c in configs):
        r.fail(f"serving describes a server under load; metric {claim.metric.value} does not use it", "serving")
    if claim.relative and claim.metric.kind in (Kind.SPEC, Kind.COST, Kind.CAPACITY) \
            and claim.metric is not Metric.COMPUTE_PEAK:
        r.fail(f"metric {claim.metric.value} cannot be relative; drop the baseline", "baseline")
