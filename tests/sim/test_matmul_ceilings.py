"""Matmul ceilings: fraction of the format peak, issue rate per unit per clock, power.

Hand-checked against the spec numbers: a matmul runs at
``min(eff * peak[format], matmul_unit_rate * units * clock, tdp / matmul_energy)``."""

import dataclasses

import numpy as np
import pytest

from simlow.errors import SimlowError
from simlow.workload.op import OpClass
from simlow.workload.templates import templates
from simlow.sim import roofline
from simlow.validation.calibrate import _F_SCALE, _robust
from simlow.sim.machine import issue_rate, machine, pick_engine, power_rate
from simlow.validation.measured import Measured, map_row
from simlow.sim.stack_load import load_stack, stack_dir
from simlow.specs import load_hw, load_model, load_scheme


def _mach(hw_name, stack):
    hw = load_hw(hw_name)
    return hw, machine(hw, stack, pick_engine(hw, stack))


def test_matmul_rate_is_the_lowest_ceiling():
    base = load_stack("llama.cpp-cuda")
    hw = load_hw("rtx-4090")
    eng = pick_engine(hw, base)
    temps, _ = templates(load_model("llama-2-7b"), load_scheme("q4_0"))
    mm = next(t for t in temps if t.op_class is OpClass.MATMUL and t.compute == "int8")
    peak = eng.peak("int8")                               # 660.6 TOP/s
    for rate, joules, want in ((500.0, None, 500.0 * 128 * 2.52e9),           # issue-bound
                               (None, 3e-12, 450.0 / 3e-12),                   # power-bound
                               (None, None, 0.3 * peak),                       # fraction of peak
                               (4000.0, 1e-13, 0.3 * peak)):                   # loose ceilings
        st = dataclasses.replace(base, matmul_unit_rate=rate, matmul_energy_J=joules,
                                 compute_efficiency={**base.compute_efficiency, "matmul": 0.3})
        m = machine(hw, st, eng)
        assert float(m.rate_for(mm)) == pytest.approx(want, rel=1e-12)


def test_ceilings_apply_to_matmuls_only_and_need_spec_numbers():
    st = dataclasses.replace(load_stack("llama.cpp-cuda"), matmul_unit_rate=500.0, matmul_energy_J=3e-12)
    hw, m = _mach("rtx-4090", st)
    temps, _ = templates(load_model("llama-2-7b"), load_scheme("q4_0"))
    att = next(t for t in temps if t.op_class is OpClass.ATTENTION)
    assert float(m.rate_for(att)) == pytest.approx(m.peak_for(att) * st.compute_efficiency["attention"])
    spark = load_hw("dgx-spark")                          # 48 SMs at a derived 2.52 GHz
    assert issue_rate(st, pick_engine(spark, st)) == pytest.approx(500.0 * 48 * 2.52e9)
    assert spark.engine("cpu").clock_hz is None
    assert issue_rate(st, spark.engine("cpu")) is None   # an engine without a clock: no issue cap
    assert power_rate(st, spark) == pytest.approx(spark.power.tdp_w / 3e-12)


def test_a_ceiling_never_speeds_up_a_prediction():
    base = load_stack("llama.cpp-cuda")
    hw = load_hw("rtx-4090")
    temps, _ = templates(load_model("llama-2-7b"), load_scheme("q4_0"))
    free = dataclasses.replace(base, matmul_unit_rate=None, matmul_energy_J=None)
    t_free = roofline.step(temps, machine(hw, free, pick_engine(hw, free)), 1, 512, 0).total_s
    t_cap = roofline.step(temps, machine(hw, base, pick_engine(hw, base)), 1, 512, 0).total_s
    assert float(t_cap) >= float(t_free)


def test_bad_ceiling_values_are_refused(tmp_path):
    text = (stack_dir() / "llama.cpp-cuda.yaml").read_text()
    for bad in ("matmul_unit_rate: -5", "matmul_unit_rate: many", "matmul_energy: 3 W"):
        p = tmp_path / "llama.cpp-cuda.yaml"
        key = bad.split(":")[0]
        body = "\n".join(line for line in text.splitlines() if not line.startswith(key + ":"))
        p.write_text(body + "\n" + bad + "\n")
        with pytest.raises(SimlowError, match=key):
            load_stack(str(p))


def test_robust_residuals_square_to_the_soft_l1_cost():
    r = np.array([-0.5, -0.01, 0.0, 0.02, 0.3])
    w = np.array([1.0, 0.5, 2.0, 1.0, 0.25])
    cost = np.sum(w * 2 * _F_SCALE**2 * (np.sqrt(1 + (r / _F_SCALE) ** 2) - 1))
    assert np.sum(_robust(r, w) ** 2) == pytest.approx(cost, rel=1e-12)
    assert np.all(np.sign(_robust(r, w)) == np.sign(r))


def _strix(backend):
    return Measured("strix_halo_lhl_llmbench", 2, "strix-halo", backend, "llama-2-7b.Q4_0", "Q4_0", "pp512", 300.0)


def test_strix_hip_without_hipblaslt_is_its_own_stack():
    """rocBLAS-default HIP builds are a software configuration: mapped (prefill and
    decode), scored, to their own stack; with hipBLASLt they stay llama.cpp-rocm."""
    for backend in ("llama.cpp-hip (rocBLAS default)", "llama.cpp-rocwmma (rocBLAS default)"):
        pp = map_row(_strix(backend))
        assert pp.stack == "llama.cpp-rocm-rocblas" and pp.kind == "pp"
        assert map_row(dataclasses.replace(_strix(backend), test="tg128")).stack == "llama.cpp-rocm-rocblas"
    assert map_row(_strix("llama.cpp-hip")).stack == "llama.cpp-rocm"
    assert map_row(_strix("llama.cpp-rocwmma")).stack == "llama.cpp-rocm"


def test_rocblas_stack_prefill_is_slower_through_its_gemms():
    """Same silicon, same bytes: the rocBLAS stack's prefill is slower than hipBLASLt's
    (its fp16 GEMM fraction is lower), and it has no per-device ceiling."""
    from simlow.sim.predict import predict

    blas = load_stack("llama.cpp-rocm-rocblas")
    assert blas.matmul_unit_rate is None and blas.matmul_energy_J is None
    assert blas.compute_format("int8", pick_engine(load_hw("strix-halo"), blas)) == "fp16"
    kw = dict(batch=1, prompt=512, gen=0)
    slow = predict("llama-2-7b", "strix-halo", "q4_0", stack="llama.cpp-rocm-rocblas", **kw).prefill_tok_s
    fast = predict("llama-2-7b", "strix-halo", "q4_0", stack="llama.cpp-rocm", **kw).prefill_tok_s
    assert slow < fast


def test_vulkan_rows_pick_the_stack_by_driver_vendor():
    row = Measured("llamacpp_scoreboard_vulkan", 2, "NVIDIA GeForce RTX 4090", "Vulkan",
                   "Llama 2 7B (TheBloke llama-2-7b.Q4_0.gguf)", "Q4_0", "pp512", 9000.0)
    assert map_row(row).stack == "llama.cpp-vulkan-nvidia"
    amd = dataclasses.replace(row, device="AMD Radeon RX 7900 XTX")
    assert map_row(amd).stack == "llama.cpp-vulkan"
