"""The vocabulary of countable hardware events, shared by the datapaths and the cost model.

Datapath models (``simlow.datapath``) *count* what a unit does; the cost model
(``simlow.cost``) *prices* each event by technology node (the Accelergy habit: counting is
kept apart from pricing). An ``Event`` names one kind of action with the widths that set
its cost; ``EventCounts`` maps events to how many times they happened.

An ``Event`` *is* its text (a ``str`` subclass): ``str(Event(Op.INT_MUL, 8, 8)) ==
"int_mul:8b:x8"``, and it hashes and compares equal to that text, so a counts dict is
indexed by either, and ``json.dumps(counts)`` writes those keys as they are (no
conversion). ``Event.parse(text)`` turns such a key back into an ``Event`` with its fields
(the cost model prices either); ``to_dict()`` gives the fields for JSON.

Widths are in bits. For a multiplier ``width`` and ``width2`` are the two operand widths;
for a shifter ``width`` is the data width and ``width2`` the largest shift distance; for a
LUT read ``width`` is the entry width and ``width2`` the number of entries. Floating-point
events name their format in ``fmt`` (``"fp32"``, ``"bf16"``, ``"fp16"``, ``"e4m3"``...).
"""

from __future__ import annotations

import enum
from collections import Counter
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


class Event(str):
    """One kind of action: ``op`` with the widths and format that set its cost.

    Immutable; equal (and equal-hashing) to its text ``op[:fmt][:<width>b][:x<width2>]``.
    """

    __slots__ = ("op", "width", "width2", "fmt")

    def __new__(cls, op: Op, width: int = 0, width2: int = 0, fmt: str = "") -> "Event":
        op = Op(op)
        parts = [op.value] + ([fmt] if fmt else []) + ([f"{width}b"] if width else []) \
            + ([f"x{width2}"] if width2 else [])
        self = super().__new__(cls, ":".join(parts))
        for name, value in (("op", op), ("width", int(width)), ("width2", int(width2)), ("fmt", str(fmt))):
            object.__setattr__(self, name, value)
        return self

    def __setattr__(self, name, value):
        raise AttributeError(f"Event is immutable (cannot set {name})")

    def __reduce__(self):
        return (Event, (self.op, self.width, self.width2, self.fmt))

    def __str__(self) -> str:
        return str.__str__(self)

    def to_dict(self) -> dict:
        """The fields, JSON-able: ``{"op": "int_mul", "width": 8, "width2": 8, "fmt": ""}``."""
        return {"op": self.op.value, "width": self.width, "width2": self.width2, "fmt": self.fmt}

    @classmethod
    def parse(cls, text: str) -> "Event":
        """The ``Event`` whose text is ``text`` (``"int_mul:8b:x8"``); ``SimlowError`` if none is."""
        from simlow.errors import SimlowError

        if isinstance(text, Event):
            return text
        head, *rest = str(text).split(":")
        try:
            op = Op(head)
        except ValueError:
            raise SimlowError(f"unknown event {text!r} (operations: {', '.join(o.value for o in Op)})") from None
        fields = {"width": 0, "width2": 0, "fmt": ""}
        for part in rest:
            if part.startswith("x") and part[1:].isdigit():
                fields["width2"] = int(part[1:])
            elif part.endswith("b") and part[:-1].isdigit():
                fields["width"] = int(part[:-1])
            else:
                fields["fmt"] = part
        event = cls(op, **fields)
        if event != text:
            raise SimlowError(f"cannot read {text!r} as an event (expected op[:fmt][:<bits>b][:x<bits>])")
        return event


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
