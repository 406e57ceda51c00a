"""Relative claims ("2.71x faster", "3.55x less memory"): both configurations, one factor.

The claimed value is the improvement factor in the metric's better direction. simlow's
factor comes from both configurations (predicted rates or times, or exact bytes). The hard
bound on a speed factor is the configuration's roofline ceiling over the baseline *as
simulated*: no stack can run the new configuration faster than its ceiling, so against a
baseline that runs as simlow predicts, the factor cannot exceed it. For exact quantities
(bytes, bits per weight) the factor is exact, so bound and simulated value coincide.
"""

from __future__ import annotations

from simlow.claims import bounds as B
from simlow.claims.answers import EXACT, Answer, exact_value, peak_value, setup_of, shortfall
from simlow.claims.metrics import Direction, Kind, Metric
from simlow.claims.schema import Claim, Config, Part
from simlow.claims.simulate import Simulated, simulate
from simlow.claims.text import claimed_text, factor, metric_value, si
from simlow.specs import load_hw, load_scheme
from simlow.claims.verdict import Outcome
from simlow.errors import SimlowError


def relative(claim: Claim, config: Config) -> Answer:
    base_config = baseline_for(claim, config)
    if claim.metric is Metric.COMPUTE_PEAK:
        return _peaks(claim, config, base_config)
    new, old = setup_of(config), setup_of(base_config)
    kind = claim.metric.kind
    if kind is Kind.EXACT:
        return _exact(claim, new, old, config.part)
    if kind not in (Kind.RATE, Kind.TIME):
        raise SimlowError(f"metric {claim.metric.value} cannot be compared between configurations")
    short = shortfall(new)
    if short is not None:
        return short
    if shortfall(old) is not None and not base_config.assume_fits:
        return Answer(None, "", Simulated(None, "the baseline does not fit in memory"),
                      f"the baseline ({base_config.label()}) does not fit in memory, so there is no "
                      f"speed to compare with", outcome=Outcome.CANNOT_ANSWER)
    return _speed(claim, new, old, config, base_config)


def baseline_for(claim: Claim, config: Config) -> Config:
    """The baseline with the candidate's own changes applied where the baseline keeps them."""
    assert claim.baseline is not None
    if not claim.candidates:
        return claim.baseline
    from dataclasses import fields, replace

    changed = {f.name: getattr(claim.baseline, f.name) for f in fields(Config)
               if getattr(claim.baseline, f.name) != getattr(claim.config, f.name)}
    return replace(config, **changed)


def _exact(claim: Claim, new: B.Setup, old: B.Setup, part: Part) -> Answer:
    v_new, what_new = exact_value(new, claim.metric, part)
    v_old, what_old = exact_value(old, claim.metric, part)
    f = v_old / v_new
    unit = claim.metric.unit
    text = (f"{what_old} take {metric_value(v_old, unit)} and {what_new} {metric_value(v_new, unit)}: "
            f"{factor(f)} less, the claim says {claimed_text(claim.claimed, 'x')}")
    return Answer(f, EXACT, Simulated(f, EXACT), text, (), text, exact=True)


def _peaks(claim: Claim, config: Config, base: Config) -> Answer:
    """The ratio of two spec peaks (exact: the datasheet's own figures)."""
    new, what_new = peak_value(load_hw(config.hw, config.memory), load_scheme(config.scheme))
    old, what_old = peak_value(load_hw(base.hw, base.memory), load_scheme(base.scheme))
    f = new / old
    text = (f"{what_new} is {si(new, 'op/s')} and {what_old} {si(old, 'op/s')}: {factor(f)}; "
            f"the claim says {claimed_text(claim.claimed, 'x')}")
    return Answer(f, "device spec", Simulated(f, "hardware spec"), text, (), text, exact=True)


def _speed(claim: Claim, new: B.Setup, old: B.Setup, config: Config, base: Config) -> Answer:
    sim_new = simulate(new, claim.metric, config)
    sim_old = simulate(old, claim.metric, base)
    ceiling = _ceiling(claim.metric, new)
    x = claim.claimed.near(_adv(ceiling, sim_old.value, claim.metric.direction)
                           if ceiling is not None and sim_old.value else claim.claimed.stated)
    old_ceiling = _ceiling(claim.metric, old)
    notes = [] if ceiling is None or old_ceiling is None else [
        f"roofline ceilings: {ceiling:.4g} vs {old_ceiling:.4g} {claim.metric.unit}; their ratio is not a "
        f"bound (a baseline can run below its ceiling)"]
    notes += [f"simulated: {sim_new.note}; baseline: {sim_old.note}"]
    if sim_old.value is None or sim_new.value is None:
        missing = sim_old if sim_old.value is None else sim_new
        return Answer(None, "", missing, f"claimed {claimed_text(claim.claimed, 'x')}", tuple(notes))
    better = claim.metric.direction
    sim_factor = _adv(sim_new.value, sim_old.value, better)
    text = (f"simlow predicts {metric_value(sim_new.value, claim.metric.unit)} against "
            f"{metric_value(sim_old.value, claim.metric.unit)}: {factor(sim_factor)}; the claim says "
            f"{claimed_text(claim.claimed, 'x')}")
    if ceiling is None:
        return Answer(None, "", Simulated(sim_factor, sim_new.note), text, tuple(notes))
    bound = _adv(ceiling, sim_old.value, better)
    impossible = (f"{factor(x)} over the simulated baseline's {metric_value(sim_old.value, claim.metric.unit)} "
                  f"needs {metric_value(_apply(x, sim_old.value, better), claim.metric.unit)}; the roofline "
                  f"allows {metric_value(ceiling, claim.metric.unit)} ({factor(bound)})")
    return Answer(bound, "roofline over simulated baseline", Simulated(sim_factor, sim_new.note), text,
                  tuple(notes), impossible)


def _ceiling(metric: Metric, s: B.Setup) -> float | None:
    if metric is Metric.DECODE_TOK_S:
        return B.binding(B.decode_limits(s)).rate
    if metric is Metric.PREFILL_TOK_S:
        return B.binding(B.prefill_limits(s)).rate
    if metric is Metric.TTFT_S:
        return s.workload.prompt * s.workload.batch / B.binding(B.prefill_limits(s)).rate
    return B.energy_floor_j(s)  # None where the spec has no energy per bit: no hard bound


def _adv(new: float, old: float, better: Direction) -> float:
    return new / old if better is Direction.HIGHER else old / new


def _apply(f: float, old: float, better: Direction) -> float:
    return old * f if better is Direction.HIGHER else old / f
