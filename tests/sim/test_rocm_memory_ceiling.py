"""llama.cpp-rocm's memory ceiling (``memory_unit_rate``, simlow.sim.machine.bandwidth_fractions):
bytes per CU per clock the HIP kernels keep in flight. It binds where HBM is fast next to CUs x
clock (the GCN/CDNA boards) and not on the RDNA cards or Strix Halo, whose decode is then set
by the bandwidth fraction; the shipped constants are what the calibration fits."""

from dataclasses import replace

import pytest

import simlow
from simlow.sim.machine import bandwidth_fractions, pick_engine
from simlow.sim.stack_load import load_stack
from simlow.specs import load_hw

HBM_GCN = ("mi50-32gb", "mi60", "mi100", "mi210")
NOT_BOUND = ("rx-7900-xtx", "w7900", "v620", "r9700", "rx-9070", "rx-9070-xt", "strix-halo")


def _fraction(name, stack):
    hw = load_hw(name)
    eng = pick_engine(hw, stack)
    bw = hw.memory(eng.memory).bandwidth_Bps
    return bandwidth_fractions(stack, eng, bw)["matmul"], stack.memory_unit_rate * eng.units * eng.clock_hz / bw


@pytest.mark.parametrize("name", HBM_GCN + NOT_BOUND)
def test_the_ceiling_binds_on_the_hbm_gcn_boards_only(name):
    rocm = load_stack("llama.cpp-rocm")
    frac, cap = _fraction(name, rocm)
    assert frac == pytest.approx(min(rocm.bandwidth["matmul"], cap), rel=1e-12)
    assert (cap < rocm.bandwidth["matmul"]) is (name in HBM_GCN)


def test_decode_follows_the_ceiling_where_it_binds_and_the_fraction_elsewhere():
    rocm = load_stack("llama.cpp-rocm")
    free = replace(rocm, memory_unit_rate=None)
    kw = dict(scheme="q4_0", batch=1, prompt=0, gen=16)
    capped = simlow.predict("llama-2-7b", "mi210", stack=rocm, **kw).decode_tok_s
    assert capped < 0.8 * simlow.predict("llama-2-7b", "mi210", stack=free, **kw).decode_tok_s
    strix = simlow.predict("llama-2-7b", "strix-halo", stack=rocm, **kw).decode_tok_s
    assert strix == simlow.predict("llama-2-7b", "strix-halo", stack=free, **kw).decode_tok_s


def test_the_shipped_constants_are_the_fit():
    """fit_stack with mem_rate free (unit_rate, energy, step, dequant as the file states)
    reproduces the stack file to its rounding, on the file's own split."""
    pytest.importorskip("scipy")
    from simlow.validation.calibrate import fit_stack
    from simlow.validation.validate import mapped_rows

    ok, _ = mapped_rows()
    rocm = load_stack("llama.cpp-rocm")
    fixed = ("unit_rate", "energy", "step", "dequant")
    fit = fit_stack("llama.cpp-rocm", ok, fixed=fixed)
    assert fit.fitted_on() == rocm.fitted_on
    p = fit.params
    assert p["bandwidth"] == pytest.approx(rocm.bandwidth["matmul"], abs=5e-4)
    assert p["matmul"] == pytest.approx(rocm.compute_efficiency["matmul"], abs=5e-4)
    assert p["attention"] == pytest.approx(rocm.compute_efficiency["attention"], abs=5e-4)
    assert p["kernel"] == pytest.approx(rocm.kernel_overhead_s, abs=5e-9)
    assert p["mem_rate"] == pytest.approx(rocm.memory_unit_rate, abs=5e-3)
