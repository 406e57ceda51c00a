"""Engine ports: a stack's bandwidth fraction as a rate cap on its engine (``bandwidth_mode:
rate_cap``) instead of bus occupancy. Alone, a port flow moves exactly as an occupancy flow
(the roofline); sharing the bus, it takes min(port, fair share) and the bus is charged only
the bytes it moves."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
import simpy
from hypothesis import given, settings, strategies as st

from simlow.errors import SimlowError
from simlow.sim.des.fabric import Fabric
from simlow.sim.des.plan import device_setup, step_blocks
from simlow.sim.des.predict import predict_des
from simlow.sim.des.step import simulate_step
from simlow.sim.des.unified import Agent, corun
from simlow.sim.predict import predict, resolve
from simlow.sim.stacks import BandwidthMode

CAP = 1e12                                   # 1 byte per ps


def _run(caps, flows):
    """flows: (delay, path, nbytes, efficiency, port name or None); ports get the first
    resource's capacity. Returns finish times, bytes moved, the fabric."""
    env = simpy.Environment()
    fab = Fabric(env, caps)
    done = {}

    def go(k, delay, path, nbytes, eff, port):
        yield env.timeout(delay)
        done[k] = yield fab.transfer(path, nbytes, eff, port=None if port is None else (port, caps[path[0]]))

    procs = [env.process(go(k, *f)) for k, f in enumerate(flows)]
    env.run(until=env.all_of(procs))
    return [done[k] for k in range(len(flows))], fab.snapshot(), fab


def test_port_flow_alone_moves_at_efficiency_times_capacity_and_charges_only_its_bytes():
    (t,), moved, fab = _run({"mem": CAP}, [(0, ("mem",), 1000, 0.25, "port:npu")])
    assert t == 4000                          # 1000 B at 0.25 B/ps, as the occupancy model
    assert moved == {"mem": 1000}             # ports are not in moved
    assert fab.ports == {"port:npu": Fraction(1)}


def test_port_flow_under_its_fair_share_takes_its_cap_and_leaves_the_rest():
    # NPU-like flow capped at 0.25 B/ps next to a full-efficiency flow: 0.25 + 0.75 of the bus
    times, moved, _ = _run({"mem": CAP}, [(0, ("mem",), 1000, 0.25, "p"), (0, ("mem",), 3000, 1.0, None)])
    assert times == [4000, 4000]
    assert moved["mem"] == 4000               # the bus is full the whole time, with bytes only
    # the occupancy model would charge the first flow 4000 B of bus time: 0.5 / 0.5 until 6000
    times_occ, moved_occ, _ = _run({"mem": CAP}, [(0, ("mem",), 1000, 0.25, None), (0, ("mem",), 3000, 1.0, None)])
    assert times_occ == [7000, 6000] and moved_occ["mem"] == 4000


def test_port_flow_above_its_fair_share_gets_the_fair_share():
    times, _, _ = _run({"mem": CAP}, [(0, ("mem",), 500, 0.8, "p"), (0, ("mem",), 500, 1.0, None)])
    assert times == [1000, 1000]              # 0.5 B/ps each (the port would allow 0.8)


def test_flows_of_one_port_share_it():
    times, _, _ = _run({"mem": CAP}, [(0, ("mem",), 500, 0.5, "p"), (0, ("mem",), 500, 0.5, "p")])
    assert times == [2000, 2000]              # 0.25 B/ps each: the port, not the bus, is full


def test_a_port_named_like_a_resource_is_an_error():
    env = simpy.Environment()
    with pytest.raises(SimlowError, match="name of a fabric resource"):
        Fabric(env, {"mem": CAP}).transfer(("mem",), 10, 0.5, port=("mem", CAP))


_flows = st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 5000), st.sampled_from([0.25, 0.5, 1.0]),
                            st.sampled_from([None, "a", "b"])), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(_flows)
def test_bytes_conserved_and_neither_bus_nor_port_is_beaten(flows):
    spec = [(d, ("mem",), n, e, p) for d, n, e, p in flows]
    times, moved, _ = _run({"mem": CAP}, spec)
    assert moved["mem"] == sum(n for _, n, _, _ in flows)
    assert max(times) - min(d for d, *_ in flows) >= sum(n for _, n, _, _ in flows)   # bus: 1 B/ps
    for port in ("a", "b"):
        mine = [(d, n, e, t) for (d, n, e, p), t in zip(flows, times) if p == port]
        if mine:                              # the port's occupancy fits between first start and last end
            start, last = min(d for d, *_ in mine), max(t for *_, t in mine)
            assert sum(Fraction(n) / Fraction(e) for _, n, e, _ in mine) <= last - start


@settings(max_examples=30, deadline=None)
@given(_flows)
def test_one_port_with_one_efficiency_equals_the_occupancy_model(flows):
    """Alone on the bus, an engine's flows (one efficiency, as in fastflowlm and llama.cpp-cpu)
    finish exactly when occupancy flows would."""
    eff = flows[0][2]
    port = [(d, ("mem",), n, eff, "p") for d, n, _, _ in flows]
    occ = [(d, ("mem",), n, eff, None) for d, n, _, _ in flows]
    assert _run({"mem": CAP}, port)[0] == _run({"mem": CAP}, occ)[0]


def _occupancy(req):
    return dataclasses.replace(req, stack=dataclasses.replace(req.stack, bandwidth_mode=BandwidthMode.OCCUPANCY))


@pytest.mark.parametrize("model", ["llama-3.1-8b", "gemma-3-4b"])
@pytest.mark.parametrize("engine", ["npu", "cpu"])
def test_rate_cap_stacks_alone_agree_with_the_roofline_and_the_occupancy_model(model, engine):
    kw = dict(prompt=300, gen=20, engine=engine)
    r = predict(model, "strix-halo", "q4_0", **kw)
    d = predict(model, "strix-halo", "q4_0", fidelity="des", **kw)
    assert r.stack in ("fastflowlm", "llama.cpp-cpu")
    assert d.decode_s >= r.decode_s * (1 - 1e-12) and d.decode_s <= r.decode_s * (1 + 1e-6)
    assert d.prefill_s >= r.prefill_s * (1 - 1e-12) and d.prefill_s <= r.prefill_s * (1 + 1e-6)
    req = resolve(model, "strix-halo", "q4_0", **kw)
    assert req.stack.bandwidth_mode == "rate_cap"
    for prefetch in (0, 2):
        a, b = (predict_des(x, prefetch=prefetch) for x in (req, _occupancy(req)))
        assert (a.decode_s, a.prefill_s) == (b.decode_s, b.prefill_s)


def test_rate_cap_step_folds_exactly_and_doubling_bandwidth_never_slows():
    req = resolve("gemma-3-4b", "strix-halo", "q4_0", prompt=0, gen=1, engine="npu")
    s = device_setup(req, 2)
    blocks = step_blocks(s, 1, 1, 700, None)
    folded, full = (simulate_step(blocks, s.fab, 2, s.tail_ps, fold) for fold in (3, None))
    assert (folded.time_ps, folded.ops, folded.moved) == (full.time_ps, full.ops, full.moved)
    mems = tuple(dataclasses.replace(m, bandwidth_Bps=2 * m.bandwidth_Bps) for m in req.hw.memories)
    fast = dataclasses.replace(req, hw=dataclasses.replace(req.hw, memories=mems))
    a, b = predict_des(req), predict_des(fast)
    assert b.decode_s <= a.decode_s and b.prefill_s <= a.prefill_s


def test_corun_a_port_capped_partner_under_its_fair_share_is_not_slowed_and_slows_the_gpu_less():
    gpu = resolve("llama-3.1-8b", "strix-halo", "q4_k_m", prompt=64, gen=2, engine="gpu")
    npu = resolve("gemma-3-4b", "strix-halo", "q4_0", prompt=64, gen=1, engine="npu")
    capped = corun([Agent(gpu, 2), Agent(npu, 1)])
    occupied = corun([Agent(gpu, 2), Agent(_occupancy(npu), 1)])
    g, n = capped.agents
    g_occ, n_occ = occupied.agents
    assert n.slowdown == 1.0                  # 0.194 x 256 GB/s is below half the bus
    assert 1.0 < g.slowdown < g_occ.slowdown and n_occ.slowdown > 1.0
    assert (n.alone_s, g.alone_s) == (n_occ.alone_s, g_occ.alone_s)
    assert capped.moved_together == capped.moved_alone
