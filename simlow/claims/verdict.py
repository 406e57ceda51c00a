"""Verdicts: a claimed figure against a hard bound and a simulated value.

Classification (``classify``), with ``good = claimed`` in the metric's better direction
(for a lower-is-better metric every ratio below is taken the other way round):

=================  ==========================================================================
``impossible``      the claim beats a hard bound by more than its rounding tolerance:
                    ``claimed > bound x (1 + tolerance)``
``implausible``     inside the bounds, but ``claimed > simulated x (1 + margins.above)``
``plausible``       ``simulated x margins.below <= claimed <= simulated x (1 + margins.above)``
``conservative``    ``claimed < simulated x margins.below`` (well below what the stack does)
``cannot answer``   no simulated value (or no bound and no simulation); the reason says why
=================  ==========================================================================

A claim exactly at the bound is not impossible: bounds are ceilings a perfect stack
reaches. ``tolerance`` absorbs the rounding of a claimed figure ("about 18 GB").

A claim given as a range or a one-sided limit (``simlow.claims.claimed``) is compared at
its point nearest each reference: a bound or value inside the claimed interval satisfies
it. Where simlow's value is exact arithmetic (bytes, bits, a spec figure) there is no
model error to allow for, so ``classify_exact`` uses the rounding tolerance alone:
``plausible`` within it, ``impossible`` beyond it in the claim's favour, ``conservative``
beyond it against the claim's favour (the real figure is better than claimed).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from simlow.claims.claimed import Claimed
from simlow.claims.metrics import Direction, Metric


class Outcome(enum.Enum):
    IMPOSSIBLE = "impossible"
    IMPLAUSIBLE = "implausible"
    PLAUSIBLE = "plausible"
    CONSERVATIVE = "conservative"
    CANNOT_ANSWER = "cannot answer"


@dataclass(frozen=True)
class Margins:
    """How far a claim may stray from the simulated value and still be ``plausible``."""

    above: float = 0.25     # up to 25% better than simulated is plausible
    below: float = 0.5      # less than half as good as simulated is conservative


@dataclass(frozen=True)
class Verdict:
    claim_id: str
    candidate: str              # the configuration answered for (model / scheme / hw ...)
    metric: Metric | None       # None for a claim listed as not checked
    outcome: Outcome
    claimed: Claimed | bool | None
    bound: float | None         # the hard bound in the metric's unit (or factor)
    bound_name: str             # which bound: "bandwidth roofline", "memory capacity", ...
    simulated: float | None     # simlow's value (prediction, exact bytes, spec figure)
    sentence: str               # one plain sentence with the numbers behind the verdict
    relative: bool = False
    source: str = ""
    quote: str = ""
    assumptions: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def direction(self) -> Direction:
        """Relative claims are factors (higher is better); else the metric's direction."""
        return Direction.HIGHER if self.relative or self.metric is None else self.metric.direction

    @property
    def claimed_over_bound(self) -> float | None:
        """The claim's advantage over the bound (>1: beyond it)."""
        return _ratio(self.claimed, self.bound, self.direction)

    @property
    def claimed_over_simulated(self) -> float | None:
        """The claim's advantage over simlow's value (>1: better than simulated)."""
        return _ratio(self.claimed, self.simulated, self.direction)

    def to_dict(self) -> dict:
        return {
            "claim": self.claim_id, "candidate": self.candidate, "metric": self.metric.value if self.metric else None,
            "verdict": self.outcome.value, "relative": self.relative,
            "claimed": self.claimed.to_json() if isinstance(self.claimed, Claimed) else self.claimed,
            "bound": self.bound, "bound_name": self.bound_name, "simulated": self.simulated,
            "claimed_over_bound": self.claimed_over_bound,
            "claimed_over_simulated": self.claimed_over_simulated,
            "sentence": self.sentence, "source": self.source, "quote": self.quote,
            "assumptions": self.assumptions, "notes": list(self.notes),
        }


def _ratio(claimed: Claimed | bool | None, ref: float | None, direction: Direction) -> float | None:
    """The claim's advantage over ``ref`` at its point nearest ``ref``."""
    if not isinstance(claimed, Claimed) or ref is None or ref == 0:
        return None
    near = claimed.near(ref)
    return advantage(near, ref, direction) if near > 0 else None


def advantage(claimed: float, ref: float, direction: Direction) -> float:
    """``claimed`` relative to ``ref`` in the better direction (>1: the claim is better)."""
    return claimed / ref if direction is Direction.HIGHER else ref / claimed


def classify(advantage_over_bound: float | None, advantage_over_sim: float | None, tolerance: float,
             margins: Margins) -> Outcome:
    """The outcome from the claim's advantage over the bound and over the simulation."""
    if advantage_over_bound is not None and advantage_over_bound > 1.0 + tolerance:
        return Outcome.IMPOSSIBLE
    if advantage_over_sim is None:
        return Outcome.CANNOT_ANSWER
    if advantage_over_sim > 1.0 + margins.above:
        return Outcome.IMPLAUSIBLE
    if advantage_over_sim < margins.below:
        return Outcome.CONSERVATIVE
    return Outcome.PLAUSIBLE


def classify_exact(advantage_over_exact: float, tolerance: float) -> Outcome:
    """The outcome against an exact figure: only the claim's rounding is allowed for."""
    if advantage_over_exact > 1.0 + tolerance:
        return Outcome.IMPOSSIBLE
    if advantage_over_exact < 1.0 / (1.0 + tolerance):
        return Outcome.CONSERVATIVE
    return Outcome.PLAUSIBLE
