"""Sizing: the chosen design meets its target when simulated; every next-smaller one does not."""

from __future__ import annotations

import numpy as np
import pytest

from simlow.npu.sweep import Grid
from simlow.npu.spec import to_hardware_spec
from simlow.npu.sizing import size
from simlow.errors import SimlowError
from simlow.sim.predict import predict

MODEL, SCHEME, TARGET = "llama-3-8b", "pot-w4", 20.0
WORK = dict(prompt=128, gen=16)
GRID = Grid(array_sides=(8, 16, 32), arrays=(1, 2, 4, 8), sram_KiB=(256, 1024, 4096, 8192),
            widths=(32, 64, 128), vector_lanes=(16, 32, 64))


def _simulate(design) -> float:
    return predict(MODEL, to_hardware_spec(design), SCHEME, stack="ideal-npu", **WORK).decode_tok_s


def _step_down(design, n):
    kw = {"array_side": lambda: {"array_side": n.value}, "arrays": lambda: {"arrays": n.value},
          "sram_KiB": lambda: {"sram_bytes": n.value * 1024},
          "width": lambda: {"dram": design.dram.with_width(n.value)},
          "vector_lanes": lambda: {"vector_lanes": n.value}}[n.dimension]()
    return design.with_(**kw)


@pytest.fixture(scope="module")
def slow_clock():
    # a slow clock makes the array, the vector lanes and the DRAM width all matter: the clock this test
    # always used (0.05 x the pot4 logic fmax at 28 nm, 190 MHz), given as a clock now that the default
    # design clock is the modelled one (issue 14)
    from simlow.cost.macs import unit_cost
    from simlow.cost.pricing import Tech
    from simlow.npu.design import make_unit

    slow = 0.05 * unit_cost(make_unit("pot4"), Tech(28)).fmax_Hz
    return size(MODEL, SCHEME, TARGET, "28nm", "lpddr5x-8533", grid=GRID, clock_Hz=slow, **WORK)


def test_design_meets_target_when_simulated(slow_clock):
    r = slow_clock
    assert r.design is not None and r.feasible > 0
    got = _simulate(r.design)
    assert got >= TARGET
    assert got == pytest.approx(r.decode_tok_s, rel=1e-6)  # the sweep is the simulator's roofline


def test_next_smaller_designs_do_not(slow_clock):
    r = slow_clock
    assert len(r.neighbours) >= 2
    speed = [n for n in r.neighbours if n.reason == "speed"]
    assert speed, "at least one neighbour must fail on speed"
    for n in r.neighbours:
        assert n.reason != "ok"
        smaller = _step_down(r.design, n)
        if n.reason == "speed":
            assert _simulate(smaller) < TARGET
            assert _simulate(smaller) == pytest.approx(n.decode_tok_s, rel=1e-6)


def test_memory_bound_target_picks_bus_width():
    r = size(MODEL, SCHEME, TARGET, "28nm", "lpddr5x-8533", grid=GRID, **WORK)
    assert r.design.dram.width_bits == 128 and r.bound in ("memory", "compute")
    width = next(n for n in r.neighbours if n.dimension == "width")
    assert width.reason == "speed" and _simulate(_step_down(r.design, width)) < TARGET


def test_unreachable_target_says_why():
    r = size(MODEL, SCHEME, TARGET, "28nm", "lpddr5x-8533x64", grid=GRID, **WORK)
    assert r.design is None and "fastest point reaches" in r.note and "memory-bound" in r.note


def test_power_budget_is_a_constraint():
    free = size(MODEL, SCHEME, TARGET, "28nm", "lpddr5x-8533", grid=GRID, **WORK)
    tight = size(MODEL, SCHEME, TARGET, "28nm", "lpddr5x-8533", grid=GRID, power_budget_W=free.decode_power_W * 0.5,
                 **WORK)
    assert tight.design is None or tight.decode_power_W <= free.decode_power_W * 0.5


def test_sizing_refuses_bad_input():
    with pytest.raises(SimlowError):
        size(MODEL, SCHEME, 0, "28nm", "lpddr5x-8533x64")
    with pytest.raises(SimlowError):
        size(MODEL, SCHEME, 20, "28nm", "lpddr5x-8533x64", unit="int8")  # int8 MACs do not run pot


def test_sweep_is_monotone_in_size():
    from simlow.npu.sweep import sweep
    from simlow.workload.tokens import Workload
    r = size(MODEL, SCHEME, TARGET, "28nm", "lpddr5x-8533", grid=GRID, **WORK)
    sw = sweep(MODEL, SCHEME, Workload(1, **WORK), r.design, GRID, open_width=True)
    for dim in ("array_side", "arrays", "width", "vector_lanes"):
        # more of anything never slows decode and always costs area
        others = [k for k in sw.dims if k != dim]
        key = np.stack([sw.dims[k] for k in others], axis=1)
        for row in np.unique(key, axis=0)[:20]:
            sel = np.flatnonzero(np.all(key == row, axis=1))
            sel = sel[np.argsort(sw.dims[dim][sel])]
            assert np.all(np.diff(sw.area_mm2[sel]) > 0)
            assert np.all(np.diff(sw.decode_tok_s[sel]) >= -1e-9 * sw.decode_tok_s[sel][1:])


def test_sweep_area_equals_evaluate_at_every_point_of_a_small_grid():
    # the vectorized sweep prices area with the same inventory as simlow.npu.design.evaluate
    from simlow.npu.design import NpuDesign, evaluate
    from simlow.npu.dram import parse_dram
    from simlow.npu.sweep import Grid, sweep
    from simlow.workload.tokens import Workload

    base = NpuDesign("int8", 16, 1, 256 * 1024, parse_dram("lpddr5x-8533x64"), 28, 8.0)
    grid = Grid(array_sides=(8, 32), arrays=(1, 4), sram_KiB=(256, 2048), widths=(64,), vector_lanes=(16, 64))
    sw = sweep(MODEL, SCHEME, Workload(1, 128, 16), base, grid)
    for i in range(sw.area_mm2.size):
        assert sw.area_mm2[i] == pytest.approx(evaluate(sw.design(i)).total_area_mm2, rel=1e-9)
