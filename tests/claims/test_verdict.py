"""The classification table of simlow.claims.verdict, edge by edge."""

from __future__ import annotations

import pytest

from simlow.claims.metrics import Direction
from simlow.claims.claimed import Claimed
from simlow.claims.verdict import Margins, Outcome, advantage, classify, classify_exact

M = Margins(above=0.25, below=0.5)


@pytest.mark.parametrize("over_bound,over_sim,expected", [
    (1.06, 0.1, Outcome.IMPOSSIBLE),       # beyond the bound by more than the 5% tolerance
    (1.05, 1.0, Outcome.PLAUSIBLE),        # at bound x (1 + tolerance): not impossible
    (0.9, 1.26, Outcome.IMPLAUSIBLE),      # more than 25% above the simulation
    (0.9, 1.25, Outcome.PLAUSIBLE),
    (0.5, 0.5, Outcome.PLAUSIBLE),         # exactly half as good: still plausible
    (0.4, 0.49, Outcome.CONSERVATIVE),
    (0.4, None, Outcome.CANNOT_ANSWER),    # inside the bounds, nothing to compare with
    (None, None, Outcome.CANNOT_ANSWER),
    (2.0, None, Outcome.IMPOSSIBLE),       # a broken bound needs no simulation
])
def test_classify(over_bound, over_sim, expected):
    assert classify(over_bound, over_sim, 0.05, M) is expected


def test_advantage_direction():
    assert advantage(150, 100, Direction.HIGHER) == 1.5      # 150 tok/s against 100
    assert advantage(2.0, 4.0, Direction.LOWER) == 2.0       # 2 GB claimed, 4 GB needed: 2x "better"


@pytest.mark.parametrize("over_exact,expected", [
    (1.051, Outcome.IMPOSSIBLE),           # the claim is better than the exact figure beyond rounding
    (1.05, Outcome.PLAUSIBLE),
    (1 / 1.05, Outcome.PLAUSIBLE),
    (0.95, Outcome.CONSERVATIVE),          # the exact figure is better than claimed beyond rounding
])
def test_classify_exact_allows_rounding_only(over_exact, expected):
    assert classify_exact(over_exact, 0.05) is expected


def test_claimed_interval_is_compared_at_its_nearest_point():
    rng = Claimed(50e9, 90e9)
    assert rng.is_range and rng.near(84.8e9) == 84.8e9 and rng.near(120e9) == 90e9 and rng.near(10e9) == 50e9
    cap = Claimed.at_most(0.55)
    assert cap.near(0.2) == 0.2 and cap.near(0.9) == 0.55 and cap.stated == 0.55
    floor = Claimed.at_least(40e9)
    assert floor.near(41.4e9) == 41.4e9 and floor.near(36.6e9) == 40e9
    assert Claimed.value(4.0).to_json() == 4.0
    assert floor.to_json() == {"sense": "at_least", "low": 40e9, "high": None}
    assert rng.text(lambda x: f"{x / 1e9:g}") == "50 to 90" and cap.text(str) == "at most 0.55"
    with pytest.raises(ValueError):
        Claimed(2.0, 1.0)
