"""The classification table of simlow.claims.verdict, edge by edge."""

from __future__ import annotations

import pytest

from simlow.claims.metrics import Direction
from simlow.claims.verdict import Margins, Outcome, advantage, classify

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
