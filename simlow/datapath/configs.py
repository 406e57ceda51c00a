"""Unit configurations: frozen descriptions of arithmetic units.

A unit's parameters drive both its numerics (``simlow.datapath``) and, later, its cost
(``simlow.cost`` prices the event counts a run returns). Units are plain frozen data; the
named presets live in ``simlow.datapath.registry``. Construct a unit directly to explore a
design that has no preset; ``__post_init__`` rejects impossible settings.

Shared vocabulary:

- ``Overflow`` (what an accumulator does when a running sum leaves its two's-complement
  range ``[-2^(w-1), 2^(w-1)-1]``):

  ========================  ==========================================================
  ``WRAP``                  keep the low ``w`` bits (mod 2^w), as a plain adder does
  ``SATURATE_EACH_STEP``    clamp to the range after every ``step_k`` products
                            (a product batch of ``step_k`` is summed exactly first)
  ``SATURATE_AT_END``       sum exactly, clamp once at the end of K
  ========================  ==========================================================

- ``Truncation`` (what happens to bits shifted out below an accumulator's LSB):

  ================  ====================================================
  ``FLOOR``         arithmetic shift: toward minus infinity (-5 >> 1 = -3)
  ``TOWARD_ZERO``   sign-magnitude shift: toward zero (-5 >> 1 = -2)
  ================  ====================================================

- ``ScaleOrder`` (the order of a tensorwise scale epilogue, ``simlow.datapath.fp8scale``):
  ``SEQUENTIAL`` = ``(acc * scale_a) * scale_b``, ``COMBINED`` = ``acc * (scale_a * scale_b)``,
  each multiplication one fp32 RNE rounding.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from simlow.errors import SimlowError


class Overflow(enum.Enum):
    WRAP = "wrap"
    SATURATE_EACH_STEP = "saturate_each_step"
    SATURATE_AT_END = "saturate_at_end"


class Truncation(enum.Enum):
    FLOOR = "floor"
    TOWARD_ZERO = "toward_zero"


class ScaleOrder(enum.Enum):
    SEQUENTIAL = "sequential"
    COMBINED = "combined"


def _check(cond: bool, unit: str, msg: str) -> None:
    if not cond:
        raise SimlowError(f"unit {unit!r}: {msg}")


@dataclass(frozen=True)
class IntMacUnit:
    """Integer MAC array / tensor core: ``a_bits`` x ``w_bits`` signed products.

    Codes: ``a`` (M, K) and ``w`` (K, N) signed integers in any integer dtype, each within
    ``[-2^(bits-1), 2^(bits-1)-1]``. Products are exact; ``step_k`` products per output are
    summed exactly (one MMA k-step) and then added into the ``acc_bits`` accumulator under
    ``overflow``. ``skip_zeros`` models a unit that gates products with a zero operand.
    """

    name: str
    a_bits: int
    w_bits: int
    acc_bits: int = 32
    overflow: Overflow = Overflow.WRAP
    step_k: int = 1
    skip_zeros: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        _check(2 <= self.a_bits <= 16 and 2 <= self.w_bits <= 16, self.name,
               "operand widths must be 2..16 bits")
        _check(self.a_bits + self.w_bits <= self.acc_bits <= 48, self.name,
               "acc_bits must hold one product and be at most 48")
        _check(self.step_k >= 1, self.name, "step_k must be >= 1")


@dataclass(frozen=True)
class ShiftAddUnit:
    """Power-of-two MAC: each weight term shifts the activation and adds or subtracts it.

    A weight is ``sum_t sign_t * 2^exp_t`` over ``terms`` (1: PoT; 2: APoT or the
    residual-lattice variant). A term's shift moves the ``a_bits`` activation left for
    ``exp > 0`` and right for ``exp < 0``; the accumulator keeps ``frac_bits`` fraction
    bits, and bits shifted out below 2^-frac_bits are dropped by ``truncation``. Exponents
    must lie in ``[exp_min, exp_max]``. ``shared_sign`` (APoT) requires both terms of a
    weight to carry the weight's sign; otherwise each term has its own sign (residual).
    Zero-sign terms are skipped (no shift, no add).
    """

    name: str
    a_bits: int = 8
    terms: int = 1
    exp_min: int = 0
    exp_max: int = 7
    frac_bits: int = 0
    truncation: Truncation = Truncation.FLOOR
    acc_bits: int = 32
    overflow: Overflow = Overflow.WRAP
    shared_sign: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        _check(self.terms in (1, 2), self.name, "terms must be 1 (PoT) or 2 (APoT / residual)")
        _check(self.exp_min <= self.exp_max, self.name, "exp_min must be <= exp_max")
        _check(self.frac_bits >= 0, self.name, "frac_bits must be >= 0")
        _check(2 <= self.a_bits <= 16, self.name, "a_bits must be 2..16")
        _check(self.a_bits + self.exp_max + self.frac_bits + 1 <= self.acc_bits <= 48, self.name,
               "acc_bits must hold the widest shifted term and be at most 48")

    @property
    def shift_range(self) -> int:
        """Largest shift distance the barrel shifter must provide, in places."""
        return max(abs(self.exp_min + self.frac_bits), abs(self.exp_max + self.frac_bits))


@dataclass(frozen=True)
class TernaryTreeUnit:
    """Ternary adder tree: weights in {-1, 0, +1} select skip, add or subtract.

    Each output sums ``tile`` (a power of two) signed activations through a binary tree;
    level ``l`` (1 = the adders fed by the leaves) has ``level_bits[l-1]`` bits and wraps or
    saturates to them under ``level_overflow``. An empty ``level_bits`` means
    ``a_bits + 1 + l`` (never overflows). Tile sums go into an ``acc_bits`` accumulator
    under ``overflow``. ``skip_zeros``: a zero weight feeds no adder (a node with one empty
    child passes the other through), so the count of adds falls with the zeros.
    """

    name: str
    a_bits: int = 8
    tile: int = 64
    level_bits: tuple[int, ...] = ()
    level_overflow: Overflow = Overflow.WRAP
    acc_bits: int = 32
    overflow: Overflow = Overflow.WRAP
    skip_zeros: bool = True
    source: str = ""

    def __post_init__(self) -> None:
        _check(self.tile >= 2 and self.tile & (self.tile - 1) == 0, self.name,
               "tile must be a power of two >= 2")
        _check(not self.level_bits or len(self.level_bits) == self.levels, self.name,
               f"level_bits needs one width per level ({self.levels})")
        _check(self.level_overflow is not Overflow.SATURATE_AT_END, self.name,
               "level_overflow must be wrap or saturate_each_step")
        _check(all(b > self.a_bits for b in self.level_bits), self.name,
               "every level must be wider than a_bits (a negated activation needs a_bits + 1)")
        _check(self.acc_bits <= 48, self.name, "acc_bits must be at most 48")

    @property
    def levels(self) -> int:
        return self.tile.bit_length() - 1

    def width(self, level: int) -> int:
        """Bits of the adders at ``level`` (1-based)."""
        return self.level_bits[level - 1] if self.level_bits else self.a_bits + 1 + level


@dataclass(frozen=True)
class TernaryLutUnit:
    """bitnet.cpp TL1/TL2-style lookup: ``group`` ternary weights index a table of sums.

    Per activation group the unit precomputes every signed sum of its ``group`` int8
    activations; ``mirror`` stores only patterns whose first nonzero digit is +1 and
    applies a sign bit (TL2). Entries are ``entry_bits`` wide (wrapping or saturating per
    ``entry_overflow``); each group's entry is added into ``acc_bits`` under ``overflow``.
    All-zero patterns are skipped when ``skip_zeros``.
    """

    name: str
    a_bits: int = 8
    group: int = 2
    mirror: bool = False
    entry_bits: int = 16
    entry_overflow: Overflow = Overflow.WRAP
    acc_bits: int = 32
    overflow: Overflow = Overflow.WRAP
    skip_zeros: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        _check(1 <= self.group <= 4, self.name, "group must be 1..4 weights")
        _check(self.a_bits < self.entry_bits <= 32, self.name, "entry_bits must be a_bits+1..32")
        _check(self.entry_overflow is not Overflow.SATURATE_AT_END, self.name,
               "entry_overflow must be wrap or saturate_each_step")
        _check(self.entry_bits <= self.acc_bits <= 48, self.name, "acc_bits must be entry_bits..48")

    @property
    def entries(self) -> int:
        """Stored table entries (3^group patterns, about half of them when mirrored)."""
        n = 3 ** self.group
        return (n + 1) // 2 if self.mirror else n


@dataclass(frozen=True)
class FpNarrowAccUnit:
    """Minifloat tensor core with a narrow accumulator (the Hopper FP8 model).

    See ``simlow.datapath.fp8acc`` for the step-by-step semantics. ``frac_bits`` fraction
    bits are kept after aligning to the largest exponent of each ``block_k`` step;
    ``promote_every`` (a multiple of ``block_k``, or None = never) adds the narrow sum into
    an IEEE fp32 accumulator (RNE) and restarts it. ``scale_order`` is the order of the
    ``torch._scaled_mm`` scale epilogue when scales are given (unverified for scales != 1;
    ``simlow.datapath.fp8scale``).
    """

    name: str
    a_fmt: str = "e4m3"
    b_fmt: str = "e4m3"
    frac_bits: int = 13
    block_k: int = 32
    truncation: Truncation = Truncation.TOWARD_ZERO
    promote_every: int | None = None
    scale_order: ScaleOrder = ScaleOrder.SEQUENTIAL
    source: str = ""

    def __post_init__(self) -> None:
        _check(self.a_fmt in ("e4m3", "e5m2") and self.b_fmt in ("e4m3", "e5m2"), self.name,
               "operand formats must be e4m3 or e5m2")
        _check(1 <= self.frac_bits <= 23, self.name, "frac_bits must be 1..23")
        _check(1 <= self.block_k <= 1 << 20, self.name, "block_k must be 1..2^20")
        _check(self.promote_every is None or (self.promote_every > 0
               and self.promote_every % self.block_k == 0), self.name,
               "promote_every must be None or a positive multiple of block_k")


@dataclass(frozen=True)
class FpMacUnit:
    """BF16/FP16 multiply with FP32 accumulation, one MAC per K step in K order.

    Products of two bf16 or two fp16 values are exact in fp32 (8x8 or 11x11 significand
    bits <= 24, exponents in range), so each step is ``acc = fp32(acc + a*b)`` with one RNE
    rounding, the same as an FMA. Models a single MAC chain, not cuBLAS's blocked order.
    """

    name: str
    fmt: str = "bf16"
    source: str = ""

    def __post_init__(self) -> None:
        _check(self.fmt in ("bf16", "fp16"), self.name, "fmt must be bf16 or fp16")


Unit = IntMacUnit | ShiftAddUnit | TernaryTreeUnit | TernaryLutUnit | FpNarrowAccUnit | FpMacUnit
