"""Integer MAC / tensor core: bit-exact against int64 references, counts conserved."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from simlow import datapath as dp
from simlow.datapath import IntMacUnit, Overflow
from simlow.errors import SimlowError
from simlow.events import Event, Op, total

_spec = importlib.util.spec_from_file_location("dp_refs", Path(__file__).with_name("refs.py"))
refs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refs)

POLICY = {Overflow.WRAP: "wrap", Overflow.SATURATE_EACH_STEP: "sat_step",
          Overflow.SATURATE_AT_END: "sat_end"}


def _codes(rng, shape, bits):
    return rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=shape).astype(np.int8)


@pytest.mark.parametrize("name", ["int8_tensor_core", "int4_tensor_core", "int4x8_tensor_core",
                                  "int8_mac_acc24", "int8_mac_acc20", "int4_mac_acc16", "h100-int8"])
def test_presets_random_match_reference(name):
    unit = dp.UNITS[name]
    rng = np.random.default_rng(1)
    for k in (1, 7, 64, 300):
        a, w = _codes(rng, (5, k), unit.a_bits), _codes(rng, (k, 6), unit.w_bits)
        y, _ = dp.run(name, a, w)
        ref = refs.ref_int_acc(a, w, unit.acc_bits, POLICY[unit.overflow], unit.step_k)
        assert np.array_equal(y.astype(np.int64), ref)


@pytest.mark.parametrize("policy", list(Overflow))
@pytest.mark.parametrize("bits,step", [(16, 1), (16, 8), (20, 1), (24, 32), (17, 3)])
def test_overflow_part_way_through_k(policy, bits, step):
    rng = np.random.default_rng(bits * 10 + step)
    k = 2048
    a = np.full((3, k), 127, dtype=np.int8)
    a[1] = rng.integers(-128, 128, k)
    a[2, ::2] = -128                                        # alternating signs
    w = np.where(rng.random((k, 4)) < 0.8, 127, -128).astype(np.int8)
    w[:, 3] = -128
    unit = IntMacUnit("t", 8, 8, bits, policy, step_k=step)
    y, counts = dp.run(unit, a, w)
    ref = refs.ref_int_acc(a, w, bits, POLICY[policy], step)
    assert np.array_equal(y.astype(np.int64), ref)
    exact = a.astype(np.int64) @ w.astype(np.int64)
    assert (np.abs(exact) > (1 << (bits - 1))).any()       # the case really overflows
    events = total(counts, Op.OVERFLOW) + total(counts, Op.SATURATE)
    assert events > 0


def test_h100_saturation_measurements():
    """Notes 6.1: 127*127 added K=139264 times then subtracted gives -98,705,409."""
    k = 139264
    a = np.full((1, 2 * k), 127, dtype=np.int8)
    w = np.concatenate([np.full(k, 127), np.full(k, -127)]).astype(np.int8)[:, None]
    assert dp.matmul(a, w, unit="h100-int8")[0, 0] == -98705409
    assert dp.matmul(a, -w, unit="h100-int8")[0, 0] == 98705408
    assert dp.matmul(a[:, :k], w[:k], unit="h100-int8")[0, 0] == 2147483647
    assert dp.matmul(a, w, unit="int8_tensor_core")[0, 0] == 0           # wrapping gets 0 back
    assert dp.matmul(a[:, :k], w[:k], unit="int8_tensor_core")[0, 0] == -2048778240


def test_h100_int8_vectors():
    z = refs.h100_vectors()
    for i in range(int(z["int8_n"])):
        y = dp.matmul(z[f"int8_{i}_a"], z[f"int8_{i}_b"], unit="h100-int8")
        assert y.dtype == np.int32 and np.array_equal(y, z[f"int8_{i}_out"]), f"int8 case {i}"


@pytest.mark.parametrize("abits,wbits", [(4, 4), (8, 4), (8, 8)])
def test_every_product_exhaustive(abits, wbits):
    av = np.arange(-(1 << (abits - 1)), 1 << (abits - 1))
    wv = np.arange(-(1 << (wbits - 1)), 1 << (wbits - 1))
    unit = IntMacUnit("t", abits, wbits, 32)
    y, counts = dp.run(unit, av[:, None], wv[None, :])
    assert np.array_equal(y, np.array([[x * v for v in wv.tolist()] for x in av.tolist()]))
    assert counts[Event(Op.INT_MUL, abits, wbits)] == av.size * wv.size


def test_counts_conserve_and_skip_zeros():
    rng = np.random.default_rng(3)
    a = _codes(rng, (8, 200), 8)
    w = _codes(rng, (200, 9), 4)
    w[rng.random(w.shape) < 0.4] = 0
    a[rng.random(a.shape) < 0.1] = 0
    presented = 8 * 200 * 9
    dense = dp.run(IntMacUnit("d", 8, 4, 32, step_k=32), a, w)[1]
    gated = dp.run(IntMacUnit("g", 8, 4, 32, step_k=32, skip_zeros=True), a, w)[1]
    nonzero = int(sum((a[:, k] != 0).sum() * (w[k] != 0).sum() for k in range(200)))
    assert dense[Event(Op.INT_MUL, 8, 4)] == presented and Event(Op.SKIP, 8, 4) not in dense
    assert gated[Event(Op.INT_MUL, 8, 4)] == nonzero
    assert gated[Event(Op.INT_MUL, 8, 4)] + gated[Event(Op.SKIP, 8, 4)] == presented
    assert gated[Event(Op.INT_ADD, 32)] + gated[Event(Op.SKIP, 8, 4)] == presented
    assert dense[Event(Op.REG_WRITE, 32)] == 8 * 9 * 7           # ceil(200 / 32) k-steps


def test_saturation_counts_match_reference_steps():
    a = np.full((1, 10), 127, dtype=np.int8)
    w = np.full((10, 1), 127, dtype=np.int8)
    unit = IntMacUnit("s", 8, 8, 16, Overflow.SATURATE_EACH_STEP)
    y, counts = dp.run(unit, a, w)
    assert y[0, 0] == 32767
    # 127^2 = 16129: the running sum first exceeds 32767 at step 3, then clamps at 8 more steps
    assert counts[Event(Op.SATURATE, 16)] == 8
    y, counts = dp.run(IntMacUnit("w", 8, 8, 16, Overflow.WRAP), a, w)
    assert y[0, 0] == refs.wrap(16129 * 10, 16)
    assert counts[Event(Op.OVERFLOW, 16)] == sum(
        1 for s in range(1, 11) if refs.wrap(16129 * (s - 1), 16) + 16129 > 32767)


def test_block_scaled_epilogue():
    rng = np.random.default_rng(4)
    a, w = _codes(rng, (4, 128), 8), _codes(rng, (128, 3), 4)
    sa = rng.random((4, 4)).astype(np.float32)
    sw = rng.random((4, 3)).astype(np.float32)
    y, counts = dp.run("int4x8_tensor_core", a, w, a_scale=sa, w_scale=sw)
    ref = np.zeros((4, 3), dtype=np.float32)
    for m in range(4):
        for n in range(3):
            acc = np.float32(0)
            for g in range(4):
                d = int(np.dot(a[m, 32 * g:32 * g + 32].astype(np.int64), w[32 * g:32 * g + 32, n]))
                t = np.float32(np.float32(np.float32(d) * sa[m, g]) * sw[g, n])
                acc = t if g == 0 else np.float32(acc + t)
            ref[m, n] = acc
    assert y.dtype == np.float32 and np.array_equal(y.view(np.uint32), ref.view(np.uint32))
    assert counts[Event(Op.FP_MUL, fmt="fp32")] == 2 * 4 * 3 * 4


def test_bad_inputs_raise():
    with pytest.raises(SimlowError, match=r"\[-8, 7\]"):
        dp.run("int4_tensor_core", np.array([[8]]), np.array([[1]]))
    with pytest.raises(SimlowError, match="inner dimensions"):
        dp.run("int8_tensor_core", np.zeros((2, 3), np.int8), np.zeros((4, 2), np.int8))
    with pytest.raises(SimlowError, match="integer codes"):
        dp.run("int8_tensor_core", np.zeros((2, 3)), np.zeros((3, 2), np.int8))
    with pytest.raises(SimlowError, match="did you mean"):
        dp.run("int8_tensor_cor", np.zeros((2, 3), np.int8), np.zeros((3, 2), np.int8))
    with pytest.raises(SimlowError, match="fast_accum"):
        dp.matmul(np.zeros((2, 3), np.int8), np.zeros((3, 2), np.int8), unit="h100-int8", fast_accum=True)
    with pytest.raises(SimlowError):
        IntMacUnit("bad", 8, 8, 12)
