"""Ternary lookup-table MAC in the style of bitnet.cpp TL1/TL2 (``TernaryLutUnit``).

Codes: activations ``a`` (M, K) signed ``a_bits`` integers; weights ``w`` (K, N) in
{-1, 0, +1}; K must be a multiple of ``group`` (g).

Semantics: for each row m and activation group j (K/g groups), a table holds, for every
ternary pattern p = (d_0 .. d_{g-1}), the entry ``sum_i d_i * a[m, j*g + i]`` brought into
``entry_bits`` by ``entry_overflow``. With ``mirror`` only canonical patterns (first
nonzero digit +1, and the all-zero pattern) are stored; a pattern with a leading -1 reads
its negation's entry v and yields ``restrict(-v)`` (the sign bit drives a negate, which is
itself brought into ``entry_bits``). Each output adds one looked-up entry per group into
the ``acc_bits`` accumulator under ``overflow``, in group order.

Pattern index (the weight code the hardware stores): ``sum_i (d_i + 1) * 3^i``.

Counts: table building, per row and group: INT_ADD(entry_bits) per stored entry with >= 2
nonzero digits (each built from a smaller entry plus one activation), NEGATE(entry_bits)
per stored entry that is a single negated activation, REG_WRITE(entry_bits) per stored
entry. Lookups, per output and group: LUT_READ(entry_bits, entries), NEGATE(entry_bits)
for mirrored reads, INT_ADD(acc_bits) and REG_WRITE(acc_bits); all-zero groups are SKIP
(``skip_zeros``) instead. Conservation: LUT_READ + SKIP = M * N * K / g. OVERFLOW /
SATURATE count table entries out of range at build time, and accumulator events.
"""

from __future__ import annotations

import itertools

import numpy as np

from simlow.datapath import accumulate as accm
from simlow.datapath.counting import tally
from simlow.datapath.codes import int_codes, matmul_shapes, ternary_codes
from simlow.datapath.exact import int_matmul
from simlow.datapath.configs import Overflow, TernaryLutUnit
from simlow.errors import SimlowError
from simlow.events import Event, Op


def patterns(group: int) -> np.ndarray:
    """All 3^g digit patterns (3^g, g), row p having index ``sum (d_i + 1) 3^i``."""
    rows = list(itertools.product((-1, 0, 1), repeat=group))
    return np.array([r[::-1] for r in rows], dtype=np.int64)


def _lead_sign(pats: np.ndarray) -> np.ndarray:
    """Sign of each pattern's first nonzero digit (0 for the all-zero pattern)."""
    nz = pats != 0
    first = np.argmax(nz, axis=1)
    return np.where(nz.any(axis=1), pats[np.arange(len(pats)), first], 0)


def _tables(unit: TernaryLutUnit, a: np.ndarray, pats: np.ndarray):
    """Entries as read, (M, J, 3^g), and the count of stored entries out of range."""
    m, k = a.shape
    raw = a.reshape(m, k // unit.group, unit.group) @ pats.T            # (M, J, P) exact
    lead = _lead_sign(pats)
    if not unit.mirror:
        return accm.restrict(raw, unit.entry_bits, unit.entry_overflow)
    canon = raw * np.where(lead < 0, -1, 1)                              # the stored entry's value
    stored, _ = accm.restrict(canon, unit.entry_bits, unit.entry_overflow)
    neg, _ = accm.restrict(-stored, unit.entry_bits, unit.entry_overflow)
    _, n = accm.restrict(canon[..., lead >= 0], unit.entry_bits, unit.entry_overflow)
    return np.where(lead < 0, neg, stored), n


def run_lut(unit: TernaryLutUnit, a, w) -> tuple[np.ndarray, dict[Event, int]]:
    """Bit-exact accumulator output of the LUT MAC on ``a`` (M, K), ``w`` (K, N), and counts."""
    a = int_codes(a, unit.a_bits, "a")
    w = ternary_codes(w)
    matmul_shapes(a, w.shape[0])
    (m, k), g = a.shape, unit.group
    if k % g:
        raise SimlowError(f"K={k} must be a multiple of the LUT group ({g}) for unit {unit.name!r}")
    pats = patterns(g)
    idx = ((w.reshape(k // g, g, -1) + 1) * (3 ** np.arange(g))[None, :, None]).sum(axis=1)  # (J, N)
    worst = 1 << (unit.a_bits - 1)
    entry_ok = accm.fits(g * worst, unit.entry_bits)
    if entry_ok and (accm.fits(k * worst, unit.acc_bits) or unit.overflow is Overflow.SATURATE_AT_END):
        res, entry_events = accm.accumulate([int_matmul(a, w)], unit.acc_bits, unit.overflow), 0
    else:
        table, entry_events = _tables(unit, a, pats)
        steps = (table[:, j, idx[j]] for j in range(k // g))
        res = accm.accumulate(steps, unit.acc_bits, unit.overflow)
    y = res.value.astype(np.int32 if unit.acc_bits <= 32 else np.int64)
    return y, _counts(unit, m, idx, pats, res, entry_events)


def _counts(unit, m, idx, pats, res, entry_events) -> dict[Event, int]:
    lead = _lead_sign(pats)
    stored = pats[lead >= 0] if unit.mirror else pats
    nnz = np.count_nonzero(stored, axis=1)
    groups = idx.shape[0]
    zero_idx = (3 ** unit.group - 1) // 2                                # all-zero pattern
    skipped = int(np.count_nonzero(idx == zero_idx)) if unit.skip_zeros else 0
    reads = idx.size - skipped
    eb = unit.entry_bits
    build_neg = int(np.count_nonzero((nnz == 1) & (stored.sum(axis=1) < 0)))
    entry_ev = Op.OVERFLOW if unit.entry_overflow is Overflow.WRAP else Op.SATURATE
    return tally([
        (Event(Op.INT_ADD, eb), m * groups * int(np.count_nonzero(nnz >= 2))),
        (Event(Op.REG_WRITE, eb), m * groups * len(stored)),
        (Event(Op.LUT_READ, eb, unit.entries), m * reads),
        (Event(Op.NEGATE, eb), m * groups * build_neg),
        (Event(Op.NEGATE, eb), m * int(np.count_nonzero(lead[idx] < 0)) if unit.mirror else 0),
        (Event(Op.INT_ADD, unit.acc_bits), m * reads),
        (Event(Op.REG_WRITE, unit.acc_bits), m * reads),
        (Event(Op.SKIP, eb), m * skipped),
        (Event(entry_ev, eb), entry_events),
        (Event(Op.OVERFLOW, unit.acc_bits), res.overflows),
        (Event(Op.SATURATE, unit.acc_bits), res.saturations),
    ])
