"""Ternary adder tree (``TernaryTreeUnit``): weights in {-1, 0, +1} select skip, add or subtract.

Codes: activations ``a`` (M, K) signed ``a_bits`` integers; weights ``w`` (K, N) in
{-1, 0, +1}. K splits into tiles of ``tile`` leaves (a short last tile is fed zeros).

Semantics, per output and tile: leaf i is ``w[i] * a[i]`` (a negated activation needs
``a_bits + 1`` bits); level l adds pairs of level l-1 nodes (leaf index order) and brings
each sum into ``width(l)`` bits by ``level_overflow`` (wrap or clamp); the root (tile sum)
is one step of the ``acc_bits`` accumulator under ``overflow``. Zero skipping changes no
value (an empty subtree is 0 and a node with one empty child passes the other through).

Fast path: when every level is wide enough for its worst case (``2^l * 2^(a_bits-1)``),
tile sums are exact integer matmuls and only the accumulator is stepped
(``intmac.int_accumulate`` with ``step = tile``).

Counts: with ``skip_zeros`` a node adds only when both children are non-empty, so a tile
with n nonzero weights costs n-1 tree adds plus one accumulator add (none when n = 0):
adds = nonzero terms; SKIP(a_bits+1) per zero term. Without skipping every node adds.
Per output: INT_ADD(width(l)) per level, INT_ADD(acc_bits) and REG_WRITE(acc_bits) per
tile added, NEGATE(a_bits+1) per -1 weight; OVERFLOW / SATURATE per level width and for
the accumulator. Conservation: sum of INT_ADD + SKIP = M * N * tiles * tile.
"""

from __future__ import annotations

import numpy as np

from simlow.datapath import accumulate as accm
from simlow.datapath.counting import tally
from simlow.datapath.codes import int_codes, matmul_shapes, ternary_codes
from simlow.datapath.intmac import int_accumulate
from simlow.datapath.configs import Overflow, TernaryTreeUnit
from simlow.events import Event, Op

_CHUNK = 1 << 22  # elements per (M, tile, N) block in the stepwise tree


def _padded(unit: TernaryTreeUnit, a, w):
    tiles = -(-a.shape[1] // unit.tile)
    pad = tiles * unit.tile - a.shape[1]
    return np.pad(a, ((0, 0), (0, pad))), np.pad(w, ((0, pad), (0, 0))), tiles


def _tree(unit: TernaryTreeUnit, leaves: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Reduce (M, tile, n) leaves to (M, n) roots, level by level; count level events."""
    cur = leaves
    for level in range(1, unit.levels + 1):
        cur, n = accm.restrict(cur[:, 0::2] + cur[:, 1::2], unit.width(level), unit.level_overflow)
        events[level - 1] += n
    return cur[:, 0]


def _tile_sums(unit: TernaryTreeUnit, a, w, tiles: int, events: np.ndarray):
    cols = max(1, _CHUNK // (a.shape[0] * unit.tile))
    for t in range(tiles):
        at, wt = a[:, t * unit.tile:(t + 1) * unit.tile], w[t * unit.tile:(t + 1) * unit.tile]
        yield np.concatenate([_tree(unit, at[:, :, None] * wt[None, :, c:c + cols], events)
                              for c in range(0, w.shape[1], cols)], axis=1)


def run_tree(unit: TernaryTreeUnit, a, w) -> tuple[np.ndarray, dict[Event, int]]:
    """Bit-exact accumulator output of the ternary tree on ``a`` (M, K), ``w`` (K, N), and counts."""
    a = int_codes(a, unit.a_bits, "a")
    w = ternary_codes(w)
    matmul_shapes(a, w.shape[0])
    a, w, tiles = _padded(unit, a, w)
    events = np.zeros(unit.levels, dtype=np.int64)
    worst = 1 << (unit.a_bits - 1)
    if all(accm.fits(worst << l, unit.width(l)) for l in range(1, unit.levels + 1)):
        res = int_accumulate(a, w, unit.acc_bits, unit.overflow, unit.tile)
    else:
        res = accm.accumulate(_tile_sums(unit, a, w, tiles, events), unit.acc_bits, unit.overflow)
    y = res.value.astype(np.int32 if unit.acc_bits <= 32 else np.int64)
    return y, counts(unit, a.shape[0], w, tiles, res, events)


def _level_adds(unit: TernaryTreeUnit, w: np.ndarray, tiles: int) -> tuple[list[int], int]:
    """Adds per level, and accumulator adds, per row of activations (times M gives the count)."""
    cur = (w != 0).reshape(tiles, unit.tile, w.shape[1])
    adds = []
    for _ in range(unit.levels):
        left, right = cur[:, 0::2], cur[:, 1::2]
        adds.append(int(np.count_nonzero(left & right)) if unit.skip_zeros else left.size)
        cur = left | right
    return adds, int(np.count_nonzero(cur)) if unit.skip_zeros else cur.size


def counts(unit, m, w, tiles, res, level_events) -> dict[Event, int]:
    """The events of ``m`` activation rows through the padded weights ``w`` (tiles * tile, N),
    with the accumulator's events from ``res`` and the per-level wrap/clamp events."""
    level_adds, acc_adds = _level_adds(unit, w, tiles)
    level_ev = Op.OVERFLOW if unit.level_overflow is Overflow.WRAP else Op.SATURATE
    items = []
    for level, n in enumerate(level_adds, start=1):
        items.append((Event(Op.INT_ADD, unit.width(level)), m * n))
        items.append((Event(level_ev, unit.width(level)), level_events[level - 1]))
    zeros = m * int(np.count_nonzero(w == 0)) if unit.skip_zeros else 0
    return tally(items + [
        (Event(Op.INT_ADD, unit.acc_bits), m * acc_adds),
        (Event(Op.REG_WRITE, unit.acc_bits), m * acc_adds),
        (Event(Op.NEGATE, unit.a_bits + 1), m * int(np.count_nonzero(w < 0))),
        (Event(Op.SKIP, unit.a_bits + 1), zeros),
        (Event(Op.OVERFLOW, unit.acc_bits), res.overflows),
        (Event(Op.SATURATE, unit.acc_bits), res.saturations),
    ])
