"""Critical-path delay of datapath primitives, in FO4 inverter delays.

A logical-depth model: each primitive's delay is a count of gate stages, each stage a
fixed number of FO4 delays; picoseconds follow from the FO4 delay at the node
(``simlow.cost.scaling.fo4_ps``: an assumed 45 nm FO4 carried to other nodes by the
Stillmaker delay fit). Everything in this module is an assumption (confidence A) in the
spirit of Weste & Harris, "CMOS VLSI Design" (4th ed.), ch. 4 (logical effort), 10
(sequencing) and 11 (adders, multipliers, shifters); no synthesis result for these units
at 28 nm was found (a search for a 28 nm PoT-vs-INT MAC synthesis found none).

Stage costs (FO4):

=============  =====  ==========================================================
stage          FO4    meaning
=============  =====  ==========================================================
T_GATE         1.5    AND2 / XOR2 as a gate plus its driver (bit gating, inversion)
T_MUX          2.0    one 2:1 mux stage (AOI22 + inverter) of a barrel shifter
T_PG           1.5    adder bit propagate/generate
T_PREFIX       2.0    one level of a parallel-prefix (Kogge-Stone) carry tree
T_SUM          1.5    adder sum XOR
T_FA           3.0    one full-adder (3:2 carry-save) level, two XORs
T_SEQ          3.0    flip-flop clock-to-Q + setup (sequencing overhead), no skew margin
=============  =====  ==========================================================

Structures:

- adder, w bits: ``T_PG + ceil(log2 w) * T_PREFIX + T_SUM`` (synthesis picks a prefix
  adder on a timing-critical path).
- multiplier a x b: AND partial products (``T_GATE``), a Dadda carry-save tree over
  min(a, b) rows (levels: the number of Dadda heights 2, 3, 4, 6, 9, 13, 19, 28, 42, 63
  below the row count), then an adder of a + b bits. A *fused* MAC puts the accumulator
  into the tree as one more row and ends with one adder of the accumulator width.
- barrel shifter with shift range r: ``ceil(log2(r + 1))`` mux stages.
- floating-point: multiply = significand multiplier + one normalising mux stage (the
  exponent add runs in parallel); add = exponent subtract + operand swap mux + align shift
  + significand add + leading-zero count (log2 levels of ``T_GATE``) + normalise shift +
  round increment. Single-cycle, unpipelined (a real FP adder is often 2-3 stages).
"""

from __future__ import annotations

import math

from simlow.numerics import fp_format
from simlow.errors import SimlowError

T_GATE = 1.5
T_MUX = 2.0
T_PG = 1.5
T_PREFIX = 2.0
T_SUM = 1.5
T_FA = 3.0
T_SEQ = 3.0

_DADDA = (2, 3, 4, 6, 9, 13, 19, 28, 42, 63, 94, 141)


def _clog2(n: int) -> int:
    return math.ceil(math.log2(n)) if n > 1 else 0


def _positive(**kw: int) -> None:
    for k, v in kw.items():
        if v <= 0:
            raise SimlowError(f"delay model needs {k} > 0, got {v}")


def adder_fo4(width: int) -> float:
    _positive(width=width)
    return T_PG + _clog2(width) * T_PREFIX + T_SUM


def csa_levels(rows: int) -> int:
    """Full-adder levels a Dadda tree needs to reduce ``rows`` rows to two."""
    if rows > _DADDA[-1]:
        raise SimlowError(f"carry-save tree of {rows} rows is beyond the model (max {_DADDA[-1]})")
    return sum(1 for h in _DADDA if h < rows)


def multiplier_fo4(a: int, b: int) -> float:
    _positive(a=a, b=b)
    return T_GATE + csa_levels(min(a, b)) * T_FA + adder_fo4(a + b)


def fused_mac_fo4(a: int, b: int, acc: int) -> float:
    """Multiply-accumulate with the accumulator merged into the carry-save tree."""
    _positive(a=a, b=b, acc=acc)
    return T_GATE + csa_levels(min(a, b) + 1) * T_FA + adder_fo4(acc)


def shifter_fo4(shift_range: int) -> float:
    return _clog2(shift_range + 1) * T_MUX


def fp_mul_fo4(fmt: str) -> float:
    sig = fp_format(fmt).significand_bits
    return multiplier_fo4(sig, sig) + T_MUX


def fp_add_fo4(fmt: str) -> float:
    f = fp_format(fmt)
    sig = f.significand_bits + 3  # guard, round, sticky
    return (adder_fo4(f.ebits) + T_MUX + shifter_fo4(sig) + adder_fo4(sig)
            + _clog2(sig) * T_GATE + shifter_fo4(sig) + adder_fo4(f.significand_bits))
