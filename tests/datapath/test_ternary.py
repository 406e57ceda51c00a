"""Ternary adder tree and TL1/TL2-style LUT MAC: bit-exact against int64 references; counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from simlow import datapath as dp
from simlow.datapath import Overflow, TernaryLutUnit, TernaryTreeUnit
from simlow.errors import SimlowError
from simlow.events import Event, Op


def _fit(x: int, bits: int, wrap: bool) -> int:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return (x - lo) % (1 << bits) + lo if wrap else min(max(x, lo), hi)


def ref_tree(a, w, tile, widths, level_wrap, acc_bits, acc_policy):
    m, n = a.shape[0], w.shape[1]
    out = np.zeros((m, n), dtype=np.int64)
    for i in range(m):
        for j in range(n):
            leaves = [int(a[i, k]) * int(w[k, j]) for k in range(a.shape[1])]
            leaves += [0] * (-len(leaves) % tile)
            acc = 0
            for t in range(0, len(leaves), tile):
                nodes = leaves[t:t + tile]
                for bits in widths:
                    nodes = [_fit(nodes[p] + nodes[p + 1], bits, level_wrap) for p in range(0, len(nodes), 2)]
                acc += nodes[0]
                if acc_policy is not Overflow.SATURATE_AT_END:
                    acc = _fit(acc, acc_bits, acc_policy is Overflow.WRAP)
            out[i, j] = _fit(acc, acc_bits, False) if acc_policy is Overflow.SATURATE_AT_END else acc
    return out


def _data(rng, m, k, n, p_zero):
    a = rng.integers(-128, 128, (m, k))
    w = rng.choice([-1, 1], (k, n))
    w[rng.random((k, n)) < p_zero] = 0
    return a, w


@pytest.mark.parametrize("name", ["ternary_tree", "ternary_lut_tl1", "ternary_lut_tl2"])
def test_presets_exact(name):
    rng = np.random.default_rng(10)
    a, w = _data(rng, 4, 96, 7, 0.3)
    a[0] = -128
    y, _ = dp.run(name, a, w)
    assert np.array_equal(y, a @ w)


@pytest.mark.parametrize("level_policy", [Overflow.WRAP, Overflow.SATURATE_EACH_STEP])
@pytest.mark.parametrize("acc_policy", list(Overflow))
def test_narrow_tree_levels_and_accumulator(level_policy, acc_policy):
    rng = np.random.default_rng(11)
    a, w = _data(rng, 3, 40, 4, 0.2)
    a[0], w[:, 0] = 127, 1                                    # all-max
    a[1, ::2], a[1, 1::2] = 127, -128                         # alternating signs
    widths = (9, 10, 10, 11)
    unit = TernaryTreeUnit("t", 8, 16, widths, level_policy, acc_bits=12, overflow=acc_policy)
    y, counts = dp.run(unit, a, w)
    assert np.array_equal(y, ref_tree(a, w, 16, widths, level_policy is Overflow.WRAP, 12, acc_policy))
    ev = Op.OVERFLOW if level_policy is Overflow.WRAP else Op.SATURATE
    assert sum(counts.get(Event(ev, b), 0) for b in set(widths)) > 0


def test_zeros_cut_adds_by_their_share():
    rng = np.random.default_rng(12)
    a = rng.integers(-128, 128, (4, 256))
    w = rng.choice([-1, 1], (256, 10))
    w.reshape(-1)[rng.permutation(w.size)[: int(0.4 * w.size)]] = 0
    _, c = dp.run("ternary_tree", a, w)
    adds = sum(n for e, n in c.items() if e.op is Op.INT_ADD)
    presented = 4 * 256 * 10
    assert adds == presented * 6 // 10                       # 40% zeros -> 40% fewer adds
    assert adds + c[Event(Op.SKIP, 9)] == presented
    dense = dp.run(TernaryTreeUnit("d", skip_zeros=False), a, w)[1]
    assert sum(n for e, n in dense.items() if e.op is Op.INT_ADD) == presented
    assert c[Event(Op.NEGATE, 9)] == 4 * int((w < 0).sum())


def ref_lut(a, w, g, entry_bits, entry_wrap, mirror, acc_bits, acc_policy):
    m, k = a.shape
    out = np.zeros((m, w.shape[1]), dtype=np.int64)
    for i in range(m):
        for j in range(w.shape[1]):
            acc = 0
            for q in range(0, k, g):
                digits = [int(d) for d in w[q:q + g, j]]
                lead = next((d for d in digits if d), 1)
                canon = sum(lead * d * int(x) for d, x in zip(digits, a[i, q:q + g]))
                entry = _fit(canon, entry_bits, entry_wrap)
                if mirror and lead < 0:
                    entry = _fit(-entry, entry_bits, entry_wrap)
                elif not mirror:
                    entry = _fit(lead * canon, entry_bits, entry_wrap)
                acc += entry
                if acc_policy is not Overflow.SATURATE_AT_END:
                    acc = _fit(acc, acc_bits, acc_policy is Overflow.WRAP)
            out[i, j] = _fit(acc, acc_bits, False) if acc_policy is Overflow.SATURATE_AT_END else acc
    return out


@pytest.mark.parametrize("g,mirror", [(2, False), (3, True), (3, False), (4, True)])
@pytest.mark.parametrize("entry_policy", [Overflow.WRAP, Overflow.SATURATE_EACH_STEP])
def test_lut_every_pattern_narrow_entries(g, mirror, entry_policy):
    pats = np.array(list(itertools.product((-1, 0, 1), repeat=g))).T      # (g, 3^g) every pattern
    w = np.tile(pats, (2, 1))                                              # K = 2g
    a = np.array([[-128] * (2 * g), [127] * (2 * g), list(range(-128, -128 + 2 * g)),
                  [127, -128] * g])
    unit = TernaryLutUnit("t", 8, g, mirror, 9, entry_policy, acc_bits=10, overflow=Overflow.WRAP)
    y, counts = dp.run(unit, a, w)
    assert np.array_equal(y, ref_lut(a, w, g, 9, entry_policy is Overflow.WRAP, mirror, 10, Overflow.WRAP))
    assert counts[Event(Op.LUT_READ, 9, unit.entries)] == 4 * pats.shape[1] * 2


def test_lut_counts_conserve_and_errors():
    rng = np.random.default_rng(13)
    a, w = _data(rng, 3, 60, 5, 0.5)
    unit = TernaryLutUnit("s", group=3, mirror=True, skip_zeros=True)
    _, c = dp.run(unit, a, w)
    assert unit.entries == 14
    zero_groups = int((np.abs(w).reshape(20, 3, 5).sum(axis=1) == 0).sum())
    assert c[Event(Op.SKIP, 16)] == 3 * zero_groups
    assert c[Event(Op.LUT_READ, 16, 14)] + c[Event(Op.SKIP, 16)] == 3 * 20 * 5
    assert c[Event(Op.INT_ADD, 32)] == c[Event(Op.LUT_READ, 16, 14)]
    assert c[Event(Op.INT_ADD, 16)] == 3 * 20 * 10          # 10 stored entries of 14 need an add
    with pytest.raises(SimlowError, match="multiple of the LUT group"):
        dp.run(unit, a[:, :59], w[:59])
    with pytest.raises(SimlowError, match="ternary"):
        dp.run("ternary_tree", a, w * 2)
    with pytest.raises(SimlowError, match="power of two"):
        TernaryTreeUnit("bad", tile=48)


@pytest.mark.parametrize("acc_policy", list(Overflow))
def test_long_k_accumulator_overflows_late(acc_policy):
    """K = 4096: all-max activations under +1 weights reach 2^15 only after ~258 of them,
    then alternating signs walk back; tree and LUT against their loop references."""
    k = 4096
    a = np.full((2, k), 127)
    a[1, 2048:] = np.where(np.arange(2048) % 2, 127, -128)
    w = np.ones((k, 2), dtype=int)
    w[3000:, 1] = -1
    tree = TernaryTreeUnit("t", 8, 64, acc_bits=16, overflow=acc_policy)
    y, c = dp.run(tree, a, w)
    assert np.array_equal(y, ref_tree(a, w, 64, tree_widths(tree), True, 16, acc_policy))
    assert total_events(c, 16) > 0
    lut = TernaryLutUnit("l", 8, 2, False, 16, Overflow.WRAP, acc_bits=16, overflow=acc_policy)
    y, c = dp.run(lut, a, w)
    assert np.array_equal(y, ref_lut(a, w, 2, 16, True, False, 16, acc_policy))
    assert total_events(c, 16) > 0


def tree_widths(unit):
    return tuple(unit.width(level) for level in range(1, unit.levels + 1))


def total_events(c, bits):
    return c.get(Event(Op.OVERFLOW, bits), 0) + c.get(Event(Op.SATURATE, bits), 0)
