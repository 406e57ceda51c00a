"""The checker: every claim of a claim file, answered per configuration with the numbers.

For each configuration a claim names (or each candidate), the checker resolves the specs,
computes the hard bounds (``simlow.claims.bounds``), asks the simulator or the cost model
for simlow's own value (``simlow.claims.simulate``) and classifies (``verdict.classify``).
Absolute claims are answered by ``simlow.claims.answers``, relative ones by
``simlow.claims.relative``, claims about a server under load by ``simlow.claims.serving``. A configuration simlow cannot run (a context beyond the model,
no host link to offload over) gets ``cannot answer`` with the reason, never a guess.
"""

from __future__ import annotations

import math
from pathlib import Path

from simlow.claims import serving
from simlow.claims.answers import Answer, absolute
from simlow.claims.metrics import Direction, Kind, Metric
from simlow.claims.relative import relative
from simlow.claims.load import load_claims
from simlow.claims.schema import Claim, ClaimFile, Config
from simlow.claims.claimed import Claimed
from simlow.claims.verdict import Margins, Outcome, Verdict, advantage, classify, classify_exact
from simlow.errors import SimlowError


def check_claims(path: str | Path) -> list[Verdict]:
    """Every claim in the file at ``path``: one verdict per configuration, plus one
    ``cannot answer`` verdict (with the file's reason) per ``not_checked`` entry."""
    return check_file(load_claims(path))


def check_file(f: ClaimFile) -> list[Verdict]:
    margins = Margins(f.margin_above, f.margin_below)
    out = [v for c in f.claims for v in check_claim(c, margins)]
    for n in f.not_checked:
        out.append(Verdict(n.id, "", None, Outcome.CANNOT_ANSWER, None, None, "", None, n.reason,
                           source=n.source, quote=n.quote, notes=("not checked",)))
    return out


def check_claim(claim: Claim, margins: Margins = Margins()) -> list[Verdict]:
    """One verdict per configuration the claim is about."""
    return [_check_config(claim, config, margins) for config in claim.configs()]


def _check_config(claim: Claim, config: Config, margins: Margins) -> Verdict:
    base = dict(claim_id=claim.id, candidate=config.label(), metric=claim.metric, claimed=claim.claimed,
                relative=claim.relative, source=claim.source, quote=claim.quote, assumptions=claim.assumptions)
    try:
        if claim.metric.kind is Kind.SERVING:
            a = serving.answer(claim, config)
        else:
            a = relative(claim, config) if claim.relative else absolute(claim, config)
    except SimlowError as err:
        return Verdict(outcome=Outcome.CANNOT_ANSWER, bound=None, bound_name="", simulated=None,
                       sentence=f"simlow cannot answer for this configuration: {err}", **base)
    outcome = a.outcome or _outcome(claim, a, margins)
    sentence = a.sentence
    if outcome is Outcome.IMPOSSIBLE and a.impossible:
        sentence = a.impossible
    elif outcome is Outcome.CANNOT_ANSWER and a.sim.value is None and a.outcome is None:
        sentence = f"{sentence}; inside the hard bounds, but no simulated value: {a.sim.note}"
    if isinstance(claim.claimed, Claimed) and claim.claimed.low != claim.claimed.high and a.sim.value is not None \
            and not claim.claimed.low <= a.sim.value <= claim.claimed.high:
        side = "above" if a.sim.value > claim.claimed.high else "below"
        edge = claim.claimed.high if side == "above" else claim.claimed.low
        what = "range" if claim.claimed.is_range else "limit"
        sentence += f" (simlow's value is {abs(a.sim.value / edge - 1):.0%} {side} the claimed {what})"
    if config.reading:
        sentence = f"reading '{config.reading}': {sentence}"
    return Verdict(outcome=outcome, bound=a.bound, bound_name=a.bound_name, simulated=a.sim.value,
                   sentence=sentence, notes=a.notes, **base)


def _outcome(claim: Claim, a: Answer, margins: Margins) -> Outcome:
    direction = Direction.HIGHER if claim.relative else claim.metric.direction
    over_bound = _advantage(claim.claimed, a.bound, direction)
    over_sim = _advantage(claim.claimed, a.sim.value, direction)
    if a.exact and over_sim is not None:
        return classify_exact(over_sim, claim.tolerance)
    return classify(over_bound, over_sim, claim.tolerance, margins)


def _advantage(claimed: Claimed, ref: float | None, direction: Direction) -> float | None:
    """The claim's advantage over ``ref`` at its point nearest ``ref``; a zero ceiling is
    beaten by any positive claim."""
    if ref is None:
        return None
    near = claimed.near(ref)
    if ref == 0:
        return math.inf if direction is Direction.HIGHER and near > 0 else None
    return advantage(near, ref, direction)


__all__ = ["check_claims", "check_file", "check_claim", "Metric"]
