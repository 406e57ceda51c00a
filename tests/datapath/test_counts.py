"""Event counts of every preset: conservation laws, zeros cutting work, operand toggles."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from simlow import datapath as dp
from simlow.datapath import (
    FpNarrowAccUnit, IntMacUnit, ShiftAddUnit, TernaryLutUnit, TernaryTreeUnit,
)
from simlow.errors import SimlowError
from simlow.events import Event, Op, total

M, K, N = 5, 96, 7


def _inputs(unit, rng, p_zero):
    """Random codes for ``unit`` with a share ``p_zero`` of zero weights."""
    zero = rng.random((K, N)) < p_zero
    if isinstance(unit, IntMacUnit):
        a = rng.integers(-(1 << (unit.a_bits - 1)), 1 << (unit.a_bits - 1), (M, K))
        w = rng.integers(-(1 << (unit.w_bits - 1)), 1 << (unit.w_bits - 1), (K, N))
        return a, np.where(zero, 0, w)
    if isinstance(unit, ShiftAddUnit):
        sign = rng.choice([-1, 1], (unit.terms, K, N)) * ~zero
        if unit.shared_sign and unit.terms == 2:
            sign[1] = np.where(rng.random((K, N)) < 0.5, sign[0], 0)
        exp = rng.integers(unit.exp_min, unit.exp_max + 1, (unit.terms, K, N))
        w = (sign[0], exp[0]) if unit.terms == 1 else (sign, exp)
        return rng.integers(-128, 128, (M, K)), w
    if isinstance(unit, (TernaryTreeUnit, TernaryLutUnit)):
        return rng.integers(-128, 128, (M, K)), np.where(zero, 0, rng.choice([-1, 1], (K, N)))
    if isinstance(unit, FpNarrowAccUnit):
        a = rng.normal(0, 2, (M, K)).astype(np.float32).astype(ml_dtypes.float8_e4m3fn)
        b = rng.normal(0, 2, (K, N)).astype(np.float32).astype(ml_dtypes.float8_e4m3fn)
        return a, np.where(zero, 0, b.astype(np.float32)).astype(ml_dtypes.float8_e4m3fn)
    dt = np.float16 if unit.fmt == "fp16" else ml_dtypes.bfloat16
    a = rng.normal(0, 2, (M, K)).astype(np.float32).astype(dt)
    return a, np.where(zero, 0, rng.normal(0, 2, (K, N))).astype(np.float32).astype(dt)


def _laws(unit, c, w) -> list[tuple[str, int, int]]:
    """(law, left side, right side) for ``unit`` on an M x K x N GEMM with weights ``w``."""
    mnk = M * N * K
    if isinstance(unit, IntMacUnit):
        skip = c.get(Event(Op.SKIP, unit.a_bits, unit.w_bits), 0)
        steps = -(-K // unit.step_k)
        muls = c.get(Event(Op.INT_MUL, unit.a_bits, unit.w_bits), 0)
        return [("mul + skip = MNK", muls + skip, mnk),
                ("add + skip = MNK", c[Event(Op.INT_ADD, unit.acc_bits)] + skip, mnk),
                ("reg writes = MN * k-steps", c[Event(Op.REG_WRITE, unit.acc_bits)], M * N * steps)]
    if isinstance(unit, ShiftAddUnit):
        adds = c[Event(Op.INT_ADD, unit.acc_bits)]
        skip = c.get(Event(Op.SKIP, unit.a_bits), 0)
        return [("add + skip = MNK * terms", adds + skip, mnk * unit.terms),
                ("one shift per add", c[Event(Op.SHIFT, unit.a_bits, unit.shift_range)], adds),
                ("negates = subtracted terms", c.get(Event(Op.NEGATE, unit.acc_bits), 0),
                 M * int((np.asarray(w[0]) < 0).sum()))]
    if isinstance(unit, TernaryTreeUnit):
        tiles = -(-K // unit.tile)
        skip = c.get(Event(Op.SKIP, unit.a_bits + 1), 0)
        return [("adds + skip = MN * padded K", total(c, Op.INT_ADD) + skip, M * N * tiles * unit.tile),
                ("adds = nonzero terms", total(c, Op.INT_ADD), M * int(np.count_nonzero(w)))]
    if isinstance(unit, TernaryLutUnit):
        groups = M * N * K // unit.group
        reads = c[Event(Op.LUT_READ, unit.entry_bits, unit.entries)]
        return [("reads + skip = MN * K/g", reads + c.get(Event(Op.SKIP, unit.entry_bits), 0), groups),
                ("one accumulate per read", c[Event(Op.INT_ADD, unit.acc_bits)], reads)]
    if isinstance(unit, FpNarrowAccUnit):
        blocks = -(-K // unit.block_k)
        promos = 0 if unit.promote_every is None else -(-K // unit.promote_every)
        field = unit.frac_bits + 2
        return [("fp8 muls = MNK", c[Event(Op.FP_MUL, fmt=unit.a_fmt)], mnk),
                ("aligned adds = MNK", c[Event(Op.INT_ADD, field + unit.block_k.bit_length())], mnk),
                ("shifts = MN(K + blocks)", c[Event(Op.SHIFT, field, field)], M * N * (K + blocks)),
                ("promotions", c.get(Event(Op.FP_ADD, fmt="fp32"), 0), M * N * promos)]
    return [("one multiply per MAC", c[Event(Op.FP_MUL, fmt=unit.fmt)], mnk),
            ("one fp32 add per MAC", c[Event(Op.FP_ADD, fmt="fp32")], mnk),
            ("one register write per MAC", c[Event(Op.REG_WRITE, 32)], mnk)]


@pytest.mark.parametrize("name", sorted(dp.UNITS))
@pytest.mark.parametrize("p_zero", [0.0, 0.4])
def test_every_preset_conserves_its_counts(name, p_zero):
    unit = dp.UNITS[name]
    rng = np.random.default_rng(30 + int(10 * p_zero))
    a, w = _inputs(unit, rng, p_zero)
    _, c = dp.run(name, a, w)
    assert all(n > 0 for n in c.values())                      # zero counts are omitted
    for law, left, right in _laws(unit, c, w):
        assert left == right, f"{name}: {law}: {left} != {right}"


@pytest.mark.parametrize("name", ["ternary_tree", "pot_shift_add", "apot_shift_add"])
def test_zeros_cut_adds_in_proportion(name):
    """A unit that skips zero weights does exactly the nonzero share of its adds."""
    unit = dp.UNITS[name]
    rng = np.random.default_rng(31)
    a, w = _inputs(unit, rng, 0.0)
    dense = total(dp.run(name, a, w)[1], Op.INT_ADD)
    if isinstance(unit, ShiftAddUnit):
        sign, exp = (np.array(x) for x in w)
        sign[..., :40, :] = 0                                  # 40 of 96 rows of K
        sparse_w = (sign, exp)
    else:
        sparse_w = np.array(w)
        sparse_w[:40] = 0
    sparse = total(dp.run(name, a, sparse_w)[1], Op.INT_ADD)
    nz = lambda x: np.count_nonzero(x[0] if isinstance(x, tuple) else x)   # noqa: E731
    assert sparse * nz(w) == dense * nz(sparse_w)


def _ref_toggles(rows: np.ndarray, bits: int) -> int:
    """Python loop: Hamming distance between consecutive codes of each row, from 0."""
    mask = (1 << bits) - 1
    flips = 0
    for row in rows.tolist():
        prev = 0
        for v in row:
            flips += bin((int(v) & mask) ^ prev).count("1")
            prev = int(v) & mask
    return flips


def test_operand_toggles_against_loop_reference():
    rng = np.random.default_rng(32)
    a = rng.integers(-128, 128, (4, 50))
    w = rng.integers(-8, 8, (50, 6))
    t = dp.operand_toggles(a, w, 8, 4)
    assert t.a_toggles == 6 * _ref_toggles(a, 8)
    assert t.w_toggles == 4 * _ref_toggles(w.T, 4)
    assert t.loads == 4 * 6 * 50
    const = dp.operand_toggles(np.full((2, 9), -1), np.zeros((9, 3), int), 8, 4)
    assert const.a_toggles == 3 * 2 * 8 and const.w_toggles == 0   # one load of 0xFF per row
    alt = dp.operand_toggles(np.tile([127, -128], (1, 5)), np.ones((10, 1), int), 8, 4)
    assert alt.a_toggles == 7 + 9 * 8                               # 0 -> 0x7F, then all 8 flip
    with pytest.raises(SimlowError, match="inner dimensions"):
        dp.operand_toggles(a, w[:10], 8, 4)
    with pytest.raises(SimlowError, match="integer codes"):
        dp.operand_toggles(a.astype(float), w, 8, 4)
