"""The ternary adder tree (``simlow.datapath.ternary_tree``) in JAX: exact, same bits and
counts as the NumPy unit (the oracle).

``tree_matmul(unit, a, w)`` computes what ``ternary_tree.run_tree(unit, a, w)`` computes for
activation codes ``a`` (M, K) and ternary weights ``w`` (K, N), in int32 only:

- Wide path (the NumPy unit's own fast-path condition: every level wide enough for its
  worst case ``2**l * 2**(a_bits-1)``), and ``K * 2**(a_bits-1)`` fits int32 and the
  accumulator: no level or accumulator step can wrap or clamp, so the output is the exact
  integer dot, one int32 matmul (exact in any order).
- Stepwise path (narrow levels, or an accumulator that may overflow; levels of at most 31
  bits, an accumulator of at most 32): the tree itself,
  tile by tile (``lax.scan``): leaves ``w * a``, each level adds pairs in leaf order and
  wraps or clamps to ``width(l)``, the root is one accumulator step under ``overflow``.
  Every level's operands are at most 31 bits, so its add is exact in int32; so is an
  accumulator add below 32 bits (the path checks ``root bound + 2**(acc_bits-1) < 2**31``).
  A 32-bit accumulator's int32 add wraps (two's complement, as XLA defines it) and its overflow is
  ``((x ^ s) & (y ^ s)) < 0``, so wrap keeps ``s`` and clamp picks the bound by ``x``'s
  sign. Events (values changed) are counted per level and for the accumulator.
- Otherwise (a level over 31 bits, an accumulator over 32 bits that may overflow, or ``saturate_at_end``
  whose exact running sum may leave int32) the NumPy unit runs (``used_numpy`` says so).

Counts of adds, negations and skips depend on the weights only (``ternary_tree.counts`` on
the zero-padded weights, times M); the wrap/clamp events come from the run.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simlow.datapath import ternary_tree
from simlow.datapath.accumulate import AccResult, fits
from simlow.datapath.codes import int_codes, matmul_shapes, ternary_codes
from simlow.datapath.configs import Overflow, TernaryTreeUnit

INT32_EXACT = 1 << 31


@jax.jit
def _dot(a, w):
    return jnp.dot(a, w, preferred_element_type=jnp.int32)


def _add_restrict(x, y, bits: int, clamp: bool):
    """``x + y`` of two in-range ``bits``-bit int32 values brought back into range (wrap or
    clamp); and a mask of the outputs that changed."""
    s = x + y
    if bits == 32:
        out = ((x ^ s) & (y ^ s)) < 0
        lo, hi = jnp.int32(-(1 << 31)), jnp.int32((1 << 31) - 1)
        return (jnp.where(out, jnp.where(x < 0, lo, hi), s) if clamp else s), out
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    out = (s < lo) | (s > hi)
    if clamp:
        return jnp.clip(s, lo, hi), out
    half = 1 << (bits - 1)
    return ((s + half) & ((1 << bits) - 1)) - half, out


def _tile_root(a_t, w_t, widths: tuple[int, ...], clamp: bool):
    """(M, N) root of one tile's tree for ``a_t`` (M, tile), ``w_t`` (tile, N); level events."""
    cur = a_t[:, :, None] * w_t[None, :, :]
    events = []
    for bits in widths:
        cur, out = _add_restrict(cur[:, 0::2], cur[:, 1::2], bits, clamp)
        events.append(jnp.count_nonzero(out).astype(jnp.int32))
    return cur[:, 0], jnp.stack(events)


@partial(jax.jit, static_argnums=(2, 3, 4, 5))
def _stepwise(a_tiles, w_tiles, widths: tuple[int, ...], level_clamp: bool, acc_bits: int, policy: Overflow):
    """Run the tree over tiles (T, M, tile) x (T, tile, N); (acc, level events, acc events)."""
    at_end = policy is Overflow.SATURATE_AT_END

    def step(carry, tile):
        acc, lev, n = carry
        root, ev = _tile_root(tile[0], tile[1], widths, level_clamp)
        if at_end:
            acc = acc + root    # exact: the caller checked the running sum's bound
        else:
            acc, out = _add_restrict(acc, root, acc_bits, policy is Overflow.SATURATE_EACH_STEP)
            n = n + jnp.count_nonzero(out).astype(jnp.int32)
        return (acc, lev + ev, n), None

    m, n_out = a_tiles.shape[1], w_tiles.shape[2]
    init = (jnp.zeros((m, n_out), jnp.int32), jnp.zeros(len(widths), jnp.int32), jnp.int32(0))
    (acc, lev, n), _ = jax.lax.scan(step, init, (a_tiles, w_tiles))
    if at_end and acc_bits < 32:      # the exact sum fits int32, so a wider clamp is a no-op
        acc, out = _add_restrict(acc, jnp.zeros_like(acc), acc_bits, True)
        n = jnp.count_nonzero(out).astype(jnp.int32)
    return acc, lev, n


def _root_bound(unit: TernaryTreeUnit) -> int:
    """The largest root magnitude a tile can give (its levels wrap or clamp to their widths)."""
    bound = 1 << (unit.a_bits - 1)
    for level in range(1, unit.levels + 1):
        bound = min(bound * 2, 1 << (unit.width(level) - 1))
    return bound


def path(unit: TernaryTreeUnit, k: int) -> str:
    """Which path ``tree_matmul`` takes for K = ``k``: "wide", "stepwise" or "numpy"."""
    worst = 1 << (unit.a_bits - 1)
    levels_fit = all(fits(worst << l, unit.width(l)) for l in range(1, unit.levels + 1))
    if levels_fit and k * worst < INT32_EXACT and fits(k * worst, unit.acc_bits):
        return "wide"
    if max(unit.width(l) for l in range(1, unit.levels + 1)) > 31:
        return "numpy"
    if unit.overflow is Overflow.SATURATE_AT_END:
        tiles = -(-k // unit.tile)
        return "stepwise" if tiles * _root_bound(unit) < INT32_EXACT else "numpy"
    if unit.acc_bits == 32 or (unit.acc_bits < 32 and _root_bound(unit) + (1 << (unit.acc_bits - 1)) < INT32_EXACT):
        return "stepwise"
    return "numpy"


def tree_matmul(unit: TernaryTreeUnit, a, w):
    """(accumulator output (M, N), counts, used_numpy) of ``unit`` on ``a`` (M, K), ``w`` (K, N).
    The output is a JAX int32 array, or a NumPy int64 one when ``acc_bits > 32`` (JAX has
    no int64 unless x64 is enabled, and simlow does not switch global flags)."""
    a = int_codes(np.asarray(a), unit.a_bits, "a")
    w = ternary_codes(np.asarray(w))
    matmul_shapes(a, w.shape[0])
    how = path(unit, w.shape[0])
    if how == "numpy":
        y, counts = ternary_tree.run_tree(unit, a, w)
        return (jnp.asarray(y) if unit.acc_bits <= 32 else y), counts, True
    tiles = -(-w.shape[0] // unit.tile)
    pad = tiles * unit.tile - w.shape[0]
    wp = np.pad(w, ((0, pad), (0, 0)))
    if how == "wide":
        y = _dot(jnp.asarray(a, jnp.int32), jnp.asarray(w, jnp.int32))
        res, level_events = AccResult(None, 0, 0), np.zeros(unit.levels, np.int64)
    else:
        ap = np.pad(a, ((0, 0), (0, pad))).astype(np.int32)
        a_tiles = ap.reshape(a.shape[0], tiles, unit.tile).transpose(1, 0, 2)
        w_tiles = wp.astype(np.int32).reshape(tiles, unit.tile, w.shape[1])
        widths = tuple(unit.width(l) for l in range(1, unit.levels + 1))
        y, lev, n = _stepwise(jnp.asarray(a_tiles), jnp.asarray(w_tiles), widths,
                              unit.level_overflow is Overflow.SATURATE_EACH_STEP, unit.acc_bits, unit.overflow)
        wrap = unit.overflow is Overflow.WRAP
        res = AccResult(None, int(n) if wrap else 0, 0 if wrap else int(n))
        level_events = np.asarray(lev, np.int64)
    counts = ternary_tree.counts(unit, a.shape[0], wp, tiles, res, level_events)
    return (y if unit.acc_bits <= 32 else np.asarray(y).astype(np.int64)), counts, False
