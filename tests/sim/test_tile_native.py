"""GEMM row-tile padding, the fastest float format, native_formats and the MoE combine op,
checked against hand arithmetic on the spec and template numbers."""

import dataclasses
import math

import numpy as np
import pytest

from simlow.workload.features import features
from simlow.workload.op import OpClass
from simlow.workload.templates import templates
from simlow.sim import roofline
from simlow.sim.machine import machine, pick_engine, run_format
from simlow.sim.stack_load import load_stack
from simlow.specs import load_hw, load_model, load_scheme


def _temps(model, scheme):
    return templates(load_model(model), load_scheme(scheme))[0]


def test_tile_fill_pads_expert_rows_and_spares_gemv_and_dense():
    m = load_model("qwen3-30b-a3b")
    temps = _temps("qwen3-30b-a3b", "q4_k_m")
    up = next(t for t in temps if t.name.endswith("experts_up"))
    dense = next(t for t in temps if t.name.endswith("attn_q"))
    distinct = 128.0
    f = features(up, 1, 512, 0, distinct)               # 512 x 8 / 128 = 32 rows per expert
    assert float(roofline.tile_fill(up, f, 48.0)) == pytest.approx(32 / 48)
    assert float(roofline.tile_fill(up, f, 16.0)) == pytest.approx(1.0)
    f100 = features(up, 1, 100, 0, distinct)            # 6.25 rows: padded to one tile of 48
    assert float(roofline.tile_fill(up, f100, 48.0)) == pytest.approx(100 * m.moe.top_k / distinct / 48)
    assert float(roofline.tile_fill(up, features(up, 1, 8, 0, 8.0), 48.0)) == 1.0    # <= 8 rows: GEMV
    fd = features(dense, 1, 500, 0)
    assert float(roofline.tile_fill(dense, fd, 48.0)) == pytest.approx(500 / (48 * math.ceil(500 / 48)))
    assert roofline.tile_fill(dense, fd, None) == 1.0


def test_padding_slows_compute_by_exactly_one_over_fill():
    hw = load_hw("rtx-4090")
    st = load_stack("llama.cpp-cuda")
    temps = _temps("qwen3-30b-a3b", "q4_k_m")
    up = next(t for t in temps if t.name.endswith("experts_up"))
    f = features(up, 1, 512, 0, 128.0)
    base = machine(hw, dataclasses.replace(st, matmul_tile_rows=None), pick_engine(hw, st))
    tiled = machine(hw, dataclasses.replace(st, matmul_tile_rows=64.0), pick_engine(hw, st))
    tc0 = float(roofline.op_terms(up, f, base)[2])
    tc1 = float(roofline.op_terms(up, f, tiled)[2])
    assert tc1 == pytest.approx(tc0 * 64 / 32)


def test_p40_runs_attention_in_fp32_and_vector_ops_keep_their_order():
    hw = load_hw("p40")
    st = load_stack("llama.cpp-cuda")
    eng = pick_engine(hw, st)
    temps = _temps("llama-2-7b", "q4_0")
    att = next(t for t in temps if t.op_class is OpClass.ATTENTION)
    q = next(t for t in temps if t.name.endswith("attn_q"))
    assert run_format(att, st, eng, hw) == "fp32"         # fp16 0.18 < fp32 11.76 TFLOP/s
    assert run_format(q, st, eng, hw) == "int8"           # dp4a int8 stays native
    rtx = load_hw("rtx-4090")
    vec = next(t for t in temps if t.op_class is OpClass.VECTOR)
    assert run_format(vec, st, pick_engine(rtx, st), rtx) == "fp32"    # not the faster fp16 tensor rate
    assert run_format(att, st, pick_engine(rtx, st), rtx) == "fp16"


def test_vulkan_k_quants_run_on_the_vector_rate_legacy_quants_on_fp16():
    hw = load_hw("strix-halo")
    st = load_stack("llama.cpp-vulkan")
    eng = pick_engine(hw, st)
    legacy = next(t for t in _temps("llama-2-7b", "q4_0") if t.name.endswith("ffn_up"))
    kq = next(t for t in _temps("llama-2-7b", "q4_k_m") if t.name.endswith("ffn_up"))
    assert run_format(legacy, st, eng, hw) == "fp16"
    assert run_format(kq, st, eng, hw) == "fp32"
    m = machine(hw, st, eng)
    assert float(m.rate_for(kq)) == pytest.approx(eng.peak("fp32") * st.compute_efficiency["matmul"])


def test_moe_combine_is_one_mul_and_top_k_minus_one_adds():
    m = load_model("qwen3-30b-a3b")
    temps = _temps("qwen3-30b-a3b", "q4_k_m")
    comb = [t for t in temps if t.name.endswith("moe_combine")]
    assert comb and all(t.kernels == m.moe.top_k for t in comb)
    f = features(comb[0], 1, 1, 0)
    h, k = m.hidden_size, m.moe.top_k
    assert comb[0].value("flops", f) == (2 * k - 1) * h
    assert not any(t.name.endswith("moe_combine") for t in _temps("llama-2-7b", "q4_0"))
    assert np.isfinite(comb[0].value("act_read", f))
