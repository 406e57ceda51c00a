"""simlow's answer for one configuration of an absolute claim, by metric kind.

Each function returns an ``Answer``: the hard bound (in the metric's unit), which bound it
is, simlow's own value (a prediction, exact bytes, a spec figure, a cost-model ratio), one
sentence with the numbers, notes, and the sentence to use if the bound is broken. Memory
comes first: a configuration that does not fit runs at no speed at all (``outcome`` is
then decided outright), and a yes/no fit claim is decided by the capacity alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from simlow.claims import bounds as B
from simlow.claims import offload as O
from simlow.claims.metrics import Kind, Metric
from simlow.claims.schema import Claim, Config, Part
from simlow.claims.simulate import Simulated, cost_ratio, simulate
from simlow.claims.text import claimed_text, metric_value, si
from simlow.claims.verdict import Outcome
from simlow.memory import activation_bytes, check_workload, kv_bytes_per_sequence
from simlow.specs.scheme import weight_bytes
from simlow.errors import SimlowError
from simlow.specs import HardwareSpec, load_hw, load_model, load_scheme
from simlow.specs.tensors import param_count

EXACT = "exact arithmetic"


@dataclass(frozen=True)
class Answer:
    bound: float | None
    bound_name: str
    sim: Simulated
    sentence: str
    notes: tuple[str, ...] = ()
    impossible: str = ""                 # the sentence when the claim breaks the bound
    outcome: Outcome | None = None       # decided outright (memory shortfall, fit claims)
    exact: bool = False                  # simlow's value is exact (bytes, a spec figure): no model margin


def setup_of(config: Config) -> B.Setup:
    scheme = load_scheme(config.scheme)
    if config.kv_scheme is not None:
        scheme = scheme.with_kv(load_scheme(config.kv_scheme))
    hw = load_hw(config.hw, config.memory) if config.hw is not None else None
    model = load_model(config.model)
    check_workload(model, config.workload.context, config.workload.batch)
    return B.Setup(model, hw, scheme, config.workload, config.offload, O.routing_of(config.routing))


def absolute(claim: Claim, config: Config) -> Answer:
    kind = claim.metric.kind
    if kind is Kind.COST:
        sim = cost_ratio(config.cost, claim.metric)
        what = "area" if claim.metric is Metric.AREA_RATIO else "max clock"
        text = f"claimed {what} ratio {claimed_text(claim.claimed, 'x')}"
        if sim.value is not None:
            text += f"; the cost model gives {sim.value:.3g} ({sim.note})"
        return Answer(None, "", sim, text)
    if claim.metric is Metric.COMPUTE_PEAK:
        hw = load_hw(config.hw, config.memory)
        value, what = peak_value(hw, load_scheme(config.scheme))
        text = f"{what} is {si(value, 'op/s')}; the claim says {claimed_text(claim.claimed, 'op/s')}"
        return Answer(value, "device spec", Simulated(value, "hardware spec"), text, (), text, exact=True)
    if kind is Kind.SPEC:
        return spec(claim, load_hw(config.hw, config.memory))
    s = setup_of(config)
    if kind is Kind.EXACT:
        return exact(claim, s, config.part)
    if kind is Kind.FIT:
        return fit(claim, s)
    if kind is Kind.CAPACITY:
        return capacity(claim, s)
    return (None if config.assume_fits else shortfall(s)) or (rate(claim, s, config) if kind is Kind.RATE else time(claim, s, config))


def rate(claim: Claim, s: B.Setup, config: Config) -> Answer:
    limits = B.decode_limits(s) if claim.metric is Metric.DECODE_TOK_S else B.prefill_limits(s)
    lim = B.binding(limits)
    sim = simulate(s, claim.metric, config)
    x = claim.claimed.near(lim.rate)
    impossible = (f"{x:g} tok/s needs {si(lim.need(x), lim.unit)} of {lim.what}; "
                  f"{s.hw.name} has {si(lim.capacity, lim.unit)}")
    sentence = f"{x:g} tok/s is {x / lim.rate:.0%} of the {lim.name} ({lim.rate:.4g} tok/s)"
    if sim.value:
        sentence += f" and {x / sim.value:.2f}x simlow's {sim.value:.4g} tok/s"
    notes = [f"{lim2.name}: {lim2.rate:.4g} tok/s ({lim2.what})" for lim2 in limits]
    if s.offload is not None:
        notes.extend(offload_notes(s, x, config))
    if sim.value is not None:
        notes.append(f"simulated by {sim.note}")
    return Answer(lim.rate, lim.name, sim, sentence, tuple(notes), impossible)


def offload_notes(s: B.Setup, rate_: float, config: Config) -> list[str]:
    """What an expert-cache claim needs of the routing: the hit rate and the skew."""
    t = s.experts()
    link = s.hw.host_link()
    if t is None or link is None:
        return []
    need = O.hit_rate_needed(s.model, s.scheme, rate_, s.workload.batch, link.bandwidth_Bps)
    zipf = O.zipf_needed(s.model, s.scheme, s.offload.expert_cache.fraction, s.workload.batch, need)
    skew = ("no Zipf skew up to s = 8 gets there" if zipf is None
            else f"Zipf routing needs s >= {zipf:.2f} for that (uniform is s = 0)")
    return [f"routing {config.routing or 'uniform'}: a cache of {s.offload.expert_cache.fraction:.0%} of experts serves at "
            f"most {t.hit_rate:.0%} of expert reads in expectation",
            f"at {rate_:g} tok/s at least {need:.0%} of expert reads must hit the device cache for "
            f"{link.kind} to keep up; {skew}"]


def time(claim: Claim, s: B.Setup, config: Config) -> Answer:
    sim = simulate(s, claim.metric, config)
    if claim.metric is Metric.TTFT_S:
        lim = B.binding(B.prefill_limits(s))
        floor, name, unit = s.workload.prompt * s.workload.batch / lim.rate, f"prefill {lim.name}", "s"
    else:
        floor, name, unit = B.energy_floor_j(s), "DRAM energy floor", "J/token"
    x = claim.claimed.near(floor) if floor is not None else claim.claimed.stated
    sentence = f"claimed {claimed_text(claim.claimed, unit)}"
    if floor is not None:
        sentence += f"; no stack can do better than {metric_value(floor, unit)} ({name})"
    if sim.value:
        sentence += f"; simlow predicts {metric_value(sim.value, unit)}"
    impossible = f"{metric_value(x, unit)} is below the {name} of {metric_value(floor or 0.0, unit)}"
    return Answer(floor, name if floor is not None else "", sim, sentence, (), impossible)


def shortfall(s: B.Setup) -> Answer | None:
    """An outright ``impossible`` when the configuration does not fit in device memory."""
    r = B.resident(s)
    if r.fits:
        return None
    text = (f"needs {si(r.total, 'B')} in device memory (weights {si(r.weights, 'B')}, KV cache "
            f"{si(r.kv_cache, 'B')}, workspace {si(r.workspace, 'B')}); {s.hw.name} has "
            f"{si(r.usable, 'B')} usable, so it does not run at all")
    return Answer(r.usable, "memory capacity", Simulated(None, "does not fit"), text, (), text,
                  Outcome.IMPOSSIBLE)


def exact_value(s: B.Setup, metric: Metric, part: Part) -> tuple[float, str]:
    """Exact bytes (weights, KV cache or total) or bits per weight, and what they are."""
    weights = float(weight_bytes(s.model, s.scheme))
    if metric is Metric.BITS_PER_WEIGHT:
        return weights * 8 / param_count(s.model), f"{s.model.name} at {s.scheme.name}"
    w = s.workload
    kv = float(w.batch * kv_bytes_per_sequence(s.model, s.scheme, w.context))
    total = weights + kv + activation_bytes(s.model, w.context, w.batch)
    value = {Part.WEIGHTS: weights, Part.KV_CACHE: kv, Part.TOTAL: total}[part]
    what = {Part.WEIGHTS: "weights", Part.KV_CACHE: f"KV cache ({s.workload.batch} x {s.workload.context} tokens)",
            Part.TOTAL: f"weights + KV cache + workspace at {s.workload.context} tokens"}[part]
    return value, f"{s.model.name}'s {what} at {s.scheme.name}"


def exact(claim: Claim, s: B.Setup, part: Part) -> Answer:
    value, what = exact_value(s, claim.metric, part)
    unit = claim.metric.unit
    text = f"{what} take {metric_value(value, unit)}; the claim says {claimed_text(claim.claimed, unit)}"
    return Answer(value, EXACT, Simulated(value, EXACT), text, (), text, exact=True)


def peak_value(hw: HardwareSpec, scheme) -> tuple[float, str]:
    """The primary engine's spec peak in ``scheme``'s compute format (refused if it has none)."""
    fmt = scheme.compute
    value = hw.primary.peak(fmt)
    if value <= 0:
        rates = ", ".join(sorted(hw.primary.peak_ops))
        raise SimlowError(f"{hw.name}'s {hw.primary.name} has no {fmt} rate in its spec (it has: {rates})")
    return value, f"{hw.name} {hw.primary.name} peak {fmt} ({scheme.name})"


def spec(claim: Claim, hw: HardwareSpec) -> Answer:
    mem = hw.main_memory
    index = hw.memories.index(mem)
    source = hw.sources.get(f"memories[{index}].bandwidth")
    text = (f"{hw.name} {mem.name} bandwidth is {si(mem.bandwidth_Bps, 'B/s')} in its spec; "
            f"the claim says {claimed_text(claim.claimed, 'B/s')}")
    notes = (f"spec source: {source.source}",) if source else ()
    return Answer(mem.bandwidth_Bps, "device spec", Simulated(mem.bandwidth_Bps, "hardware spec"), text, notes,
                  text, exact=True)


def fit(claim: Claim, s: B.Setup) -> Answer:
    r = B.resident(s)
    parts = (f"{si(r.total, 'B')} (weights {si(r.weights, 'B')}, KV cache {si(r.kv_cache, 'B')}, "
             f"workspace {si(r.workspace, 'B')}) against {si(r.usable, 'B')} usable on {s.hw.name}")
    if r.fits:
        text = f"fits: {parts}, {si(r.usable - r.total, 'B')} to spare"
        outcome = Outcome.PLAUSIBLE if claim.claimed else Outcome.CONSERVATIVE
    else:
        text = f"does not fit: {parts}, {si(r.total - r.usable, 'B')} short"
        outcome = Outcome.IMPOSSIBLE if claim.claimed else Outcome.PLAUSIBLE
    notes = (f"{si(r.offloaded, 'B')} of experts offloaded to host memory",) if r.offloaded else ()
    return Answer(r.usable, "memory capacity", Simulated(r.total, "bytes needed"), text, notes, text, outcome)


def capacity(claim: Claim, s: B.Setup) -> Answer:
    x = int(claim.claimed.near(s.model.max_context))
    if x > s.model.max_context:
        text = f"{s.model.name} supports at most {s.model.max_context} tokens of context; the claim says {x}"
        return Answer(float(s.model.max_context), "model maximum context", Simulated(None, "beyond the model"),
                      text, (), text, Outcome.IMPOSSIBLE)
    longest = B.max_context(s)
    r = B.resident(s, max(longest, 1))
    text = (f"the longest context that fits on {s.hw.name} is {longest} tokens "
            f"({si(r.total, 'B')} of {si(r.usable, 'B')} usable); the claim says {claimed_text(claim.claimed, 'tokens')}")
    return Answer(float(longest), "memory capacity", Simulated(float(longest), EXACT), text, (), text, exact=True)
