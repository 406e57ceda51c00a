"""The vocabulary of countable hardware events, shared by the datapaths and the cost model.

Datapath models (``simlow.datapath``) *count* what a unit does; the cost model
(``simlow.cost``) *prices* each event by technology node (the Accelergy habit: counting is
kept apart from pricing). An ``Event`` names one kind of action with the widths that set
its cost; ``EventCounts`` maps events to how many times they happened.

Widths are in bits. For a multiplier ``width`` and ``width2`` are the two operand widths;
for a shifter ``width`` is the data width and ``width2`` the largest shift distance; for a
LUT read ``width`` is the entry width and ``width2`` the number of entries. Floating-point
events name their format in ``fmt`` (``"fp32"``, ``"bf16"``, ``"fp16"``, ``"e4m3"``...).
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping


class Op(enum.Enum):
    INT_MUL = "int_mul"      # integer multiply, width x width2
    INT_ADD = "int_add"      # integer add or subtract, width bits
    SHIFT = "shift"          # barrel shift of width bits by up to width2 places
    NEGATE = "negate"        # two's-complement negate (or conditional invert + carry-in)
    MUX = "mux"              # select, width bits
    FP_MUL = "fp_mul"        # floating multiply in fmt
    FP_ADD = "fp_add"        # floating add in fmt
    FP_FMA = "fp_fma"        # fused multiply-add in fmt
    LUT_READ = "lut_read"    # table read: width-bit entry out of width2 entries
    REG_WRITE = "reg_write"  # pipeline / accumulator register write, width bits
    SKIP = "skip"            # a product not performed because an operand was zero
    OVERFLOW = "overflow"    # accumulator wrapped past its width
    SATURATE = "saturate"    # accumulator clamped at its range


@dataclass(frozen=True, order=True)
class Event:
    op: Op
    width: int = 0
    width2: int = 0
    fmt: str = ""

    def __str__(self) -> str:
        parts = [self.op.value]
        if self.fmt:
            parts.append(self.fmt)
        if self.width:
            parts.append(f"{self.width}b")
        if self.width2:
            parts.append(f"x{self.width2}")
        return ":".join(parts)


EventCounts = Mapping[Event, int]


def merge(counts: Iterable[EventCounts]) -> dict[Event, int]:
    """Sum several event counts."""
    total: Counter[Event] = Counter()
    for c in counts:
        total.update(c)
    return dict(total)


def total(counts: EventCounts, op: Op) -> int:
    """How many events of kind ``op`` happened, over every width and format."""
    return sum(n for e, n in counts.items() if e.op is op)
