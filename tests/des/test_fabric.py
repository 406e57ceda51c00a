"""Fabric: exact fair sharing of bandwidth in integer picoseconds."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import simpy
from hypothesis import given, settings, strategies as st

from simlow.errors import SimlowError
from simlow.sim.des.fabric import Fabric


def _run(caps, flows, background=()):
    env = simpy.Environment()
    fab = Fabric(env, caps)
    for path, demand in background:
        fab.persistent(path, demand)
    done = []

    def go(delay, path, nbytes, eff):
        yield env.timeout(delay)
        done.append((yield fab.transfer(path, nbytes, eff)))

    procs = [env.process(go(*f)) for f in flows]
    env.run(until=env.all_of(procs))
    return done, fab.snapshot()


def test_single_flow_takes_bytes_over_efficient_bandwidth_rounded_up():
    (t,), moved = _run({"mem": 1e12}, [(0, ("mem",), 1000, 0.8)])
    assert t == math.ceil(Fraction(1000) / Fraction(0.8) / Fraction(1, 1))   # 1 B/ps
    assert moved["mem"] == 1000


def test_two_equal_flows_share_and_finish_together():
    done, moved = _run({"mem": 1e12}, [(0, ("mem",), 500, 1.0), (0, ("mem",), 500, 1.0)])
    assert done == [1000, 1000]
    assert moved["mem"] == 1000


def test_late_flow_gets_half_from_its_arrival():
    # A: 1000 B alone for 400 ps (400 B), then both at 0.5 B/ps; B: 200 B -> done at 800,
    # by which A has 600 B; its last 400 B at 1 B/ps -> 1200.
    done, _ = _run({"mem": 1e12}, [(0, ("mem",), 1000, 1.0), (400, ("mem",), 200, 1.0)])
    assert sorted(done) == [800, 1200]


def test_max_min_over_paths_link_bottleneck_leaves_memory_to_others():
    # a copy over (host, link, mem) is limited to 0.1 B/ps by the link; a local read on mem
    # gets the remaining 0.9 B/ps of mem.
    done, moved = _run({"mem": 1e12, "link": 1e11, "host": 1e12},
                       [(0, ("host", "link", "mem"), 100, 1.0), (0, ("mem",), 900, 1.0)])
    assert done == [1000, 1000]
    assert moved == {"mem": 1000, "link": 100, "host": 100}


def test_background_demand_takes_its_cap_and_no_more():
    (t,), moved = _run({"mem": 1e12}, [(0, ("mem",), 750, 1.0)], background=[(("mem",), 0.25e12)])
    assert t == 1000
    assert moved["mem"] == 1000     # 750 + 250 of background


def test_bad_path_and_efficiency_are_errors():
    env = simpy.Environment()
    fab = Fabric(env, {"mem": 1e12})
    with pytest.raises(SimlowError, match="resource"):
        fab.transfer(("nope",), 10)
    with pytest.raises(SimlowError, match="efficiency"):
        fab.transfer(("mem",), 10, 0.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 10**6), st.sampled_from([0.5, 0.8, 1.0])),
                min_size=1, max_size=6))
def test_bytes_conserved_and_never_faster_than_the_resource(flows):
    done, moved = _run({"mem": 3.35e12}, [(d, ("mem",), n, e) for d, n, e in flows])
    assert moved["mem"] == sum(Fraction(n) for _, n, _ in flows)
    occupancy = sum(Fraction(n) / Fraction(e) for _, n, e in flows)
    assert max(done) >= min(d for d, _, _ in flows) + occupancy / Fraction(3350, 1000)
