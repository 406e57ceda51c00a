"""Per-expert launches of a prefill expert matmul (``Stack.expert_kernels``,
``simlow.sim.roofline.launches``): llama.cpp's HIP mul_mat_id loops over the experts at 64
or more tokens; checked against hand arithmetic, decode untouched, the DES no faster."""

import dataclasses

import numpy as np
import pytest

from simlow import predict
from simlow.workload.features import features
from simlow.workload.templates import templates
from simlow.sim import roofline
from simlow.sim.machine import machine, pick_engine
from simlow.sim.stack_load import load_stack
from simlow.specs import load_hw, load_model, load_scheme


def _setup(expert_kernels):
    hw, stack = load_hw("strix-halo"), dataclasses.replace(load_stack("llama.cpp-rocm"), expert_kernels=expert_kernels)
    temps = templates(load_model("qwen3-30b-a3b"), load_scheme("q4_k_m"))[0]
    return temps, machine(hw, stack, pick_engine(hw, stack)), stack


def test_launches_add_kernels_per_touched_expert_from_64_tokens():
    temps, mach, _ = _setup((2.0, 4.0))
    up = next(t for t in temps if t.name.endswith("experts_up"))
    dense = next(t for t in temps if t.name.endswith("attn_q"))
    # 512 tokens x top-8 over 128 experts: 32-row slices, MMQ (2 kernels each)
    assert float(roofline.launches(up, features(up, 1, 512, 0, 128.0), mach)) == up.kernels + 2 * 128
    assert float(roofline.launches(up, features(up, 1, 64, 0, 100.0), mach)) == up.kernels + 2 * 100
    # over 32 experts: 128-row slices take the BLAS path (4 kernels each)
    assert float(roofline.launches(up, features(up, 1, 512, 0, 32.0), mach)) == up.kernels + 4 * 32
    assert float(roofline.launches(up, features(up, 1, 63, 0, 100.0), mach)) == up.kernels    # batched MMQ
    assert roofline.launches(dense, features(dense, 1, 512, 0), mach) == dense.kernels
    _, plain, _ = _setup(None)
    assert roofline.launches(up, features(up, 1, 512, 0, 128.0), plain) == up.kernels


def test_prefill_slows_by_the_extra_launches_and_decode_does_not_move():
    temps, with_loop, _ = _setup((2.0, 4.0))
    _, without, _ = _setup(None)
    experts = [t for t in temps if t.expert and t.op_class.value == "matmul"]
    a = roofline.step(temps, with_loop, 1, 512, 0.0, distinct_experts=128.0)
    b = roofline.step(temps, without, 1, 512, 0.0, distinct_experts=128.0)
    extra = sum(t.repeat * 2 * 128 for t in experts) * float(with_loop.kernel_overhead_s)
    assert float(a.total_s - b.total_s) == pytest.approx(extra, rel=1e-12)
    assert float(a.overhead_s - b.overhead_s) == pytest.approx(extra, rel=1e-12)
    d1 = roofline.step(temps, with_loop, 1, 1, np.arange(4.0), distinct_experts=8.0)
    d2 = roofline.step(temps, without, 1, 1, np.arange(4.0), distinct_experts=8.0)
    np.testing.assert_array_equal(d1.total_s, d2.total_s)


def test_des_prefill_is_no_faster_than_the_roofline_with_the_loop():
    stack = load_stack("llama.cpp-rocm")
    assert stack.expert_kernels == (2.0, 4.0)
    kw = dict(scheme="q4_k_m", batch=1, prompt=512, gen=2, stack=stack)
    roof = predict("qwen3-30b-a3b", "strix-halo", **kw)
    des = predict("qwen3-30b-a3b", "strix-halo", fidelity="des", **kw)
    assert des.prefill_s >= roof.prefill_s * (1 - 1e-9)
