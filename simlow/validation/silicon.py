"""The cost model held against published silicon: ``workloads/measured/silicon_published.csv``.

Each row of the CSV is one published figure of one chip (columns chip, figure, value,
unit, node_nm, source, confidence, notes). A row simlow can predict is mapped by
``(chip, figure)`` to a rule in ``simlow.validation.silicon_rules``: what to compute
(a unit's area, energy or delay from ``simlow.cost``; an SRAM access energy; a whole NPU
design's on-chip area, clock or full-activity power from ``simlow.npu.design`` shaped like
the chip), which part of a composite value (``"12.68 pJ / 6351 um2"``) it is held
against, and its role:

- ``anchor``: the row is (one of) the anchors the cost table was built from, so the
  prediction reproduces it by construction; shown, never counted in an error statistic;
- ``fitted``: a constant of the model was fitted on the row (the row names the constant);
- ``held-out``: nothing was fitted on it; only these rows enter the summary errors;
- ``bound``: the published figure is an upper bound (TPU v1 die <= 331 mm2): the check
  is whether the prediction lies under it.

Every other row is listed with the reason it cannot be predicted. Error = predicted /
published - 1.
"""

from __future__ import annotations

import csv
import enum
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from simlow.errors import SimlowError

SILICON_FILE = Path(__file__).resolve().parents[2] / "workloads" / "measured" / "silicon_published.csv"
COLUMNS = ("chip", "figure", "value", "unit", "node_nm", "source", "confidence", "notes")


class Role(enum.Enum):
    ANCHOR = "anchor"
    FITTED = "fitted"
    HELD_OUT = "held-out"
    BOUND = "bound"


class Kind(enum.Enum):
    UNIT_AREA = "unit area"
    UNIT_ENERGY = "unit energy"
    UNIT_DELAY = "unit delay"
    SRAM_ENERGY = "SRAM access energy"
    CHIP_AREA = "chip area"
    CLOCK = "clock"
    AREA_RATIO = "area ratio"
    POWER = "power"


@dataclass(frozen=True)
class Published:
    chip: str
    figure: str
    value: str
    unit: str
    node_nm: int | None
    source: str
    confidence: str
    line: int


@dataclass(frozen=True)
class Check:
    chip: str
    figure: str
    kind: Kind
    role: Role
    published: float
    predicted: float
    unit: str
    how: str
    source: str
    confidence: str

    @property
    def error(self) -> float:
        return self.predicted / self.published - 1.0

    def to_dict(self) -> dict:
        return {"chip": self.chip, "figure": self.figure, "kind": self.kind.value, "role": self.role.value,
                "published": self.published, "predicted": self.predicted, "unit": self.unit,
                "error": self.error, "within_bound": self.predicted <= self.published if self.role is Role.BOUND
                else None, "how": self.how, "source": self.source, "confidence": self.confidence}


@dataclass(frozen=True)
class Unpredicted:
    chip: str
    figure: str
    reason: str

    def to_dict(self) -> dict:
        return {"chip": self.chip, "figure": self.figure, "reason": self.reason}


@dataclass(frozen=True)
class SiliconReport:
    file: str
    checks: tuple[Check, ...]
    unpredicted: tuple[Unpredicted, ...]
    fitted: tuple[str, ...]

    def held_out(self, *kinds: Kind) -> list[Check]:
        return [c for c in self.checks if c.role is Role.HELD_OUT and c.kind in kinds]

    def summary(self) -> dict:
        def med(cs):
            return statistics.median(abs(c.error) for c in cs) if cs else None
        chip_area = self.held_out(Kind.CHIP_AREA)
        clock = self.held_out(Kind.CLOCK)
        return {
            "median_abs_chip_area_error": med(chip_area), "chip_area_rows": len(chip_area),
            "median_abs_unit_area_error": med(self.held_out(Kind.UNIT_AREA)),
            "unit_area_rows": len(self.held_out(Kind.UNIT_AREA)),
            "median_abs_clock_error": med(clock), "clock_rows": len(clock),
            "clock_within_30pct": sum(abs(c.error) <= 0.30 for c in clock),
            "median_abs_energy_error": med(self.held_out(Kind.UNIT_ENERGY, Kind.SRAM_ENERGY, Kind.POWER)),
            "targets": {"median_abs_chip_area_error": 0.25, "clock_error": 0.30},
        }

    def to_dict(self) -> dict:
        return {"file": self.file, "checks": [c.to_dict() for c in self.checks],
                "unpredicted": [u.to_dict() for u in self.unpredicted], "fitted": list(self.fitted),
                "summary": self.summary()}


def read_published(path: Path = SILICON_FILE) -> tuple[Published, ...]:
    """The rows of ``path``; a missing column or bad node names the file, line and column."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise SimlowError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)})")
            rows = []
            for i, r in enumerate(reader, start=2):
                node = (r["node_nm"] or "").strip()
                if node and not node.isdigit():
                    raise SimlowError(f"{path}:{i}: node_nm {node!r} is not a whole number of nm (or empty)")
                rows.append(Published(r["chip"].strip(), r["figure"].strip(), r["value"].strip(), r["unit"].strip(),
                                      int(node) if node else None, r["source"].strip(), r["confidence"].strip(), i))
    except OSError as err:
        raise SimlowError(f"cannot read the published-silicon table {path}: {err.strerror}") from None
    return tuple(rows)


def component(row: Published, index: int) -> float:
    """The ``index``-th number of a composite value ``"a / b ; c"`` (e.g. ``"12.68 pJ / 6351 um2"``)."""
    parts = [p.strip() for p in row.value.replace(";", "/").split("/")]
    if index >= len(parts):
        raise SimlowError(f"{row.chip} / {row.figure}: value {row.value!r} has no part {index + 1}")
    token = parts[index].split()[0] if parts[index] else ""
    try:
        return float(token)
    except ValueError:
        raise SimlowError(f"{row.chip} / {row.figure}: part {index + 1} of {row.value!r} is not a number") from None


def validate_silicon(path: Path = SILICON_FILE) -> SiliconReport:
    """Predict every row a rule maps (see the module docstring); list the others with a reason."""
    from simlow.validation import silicon_rules as R

    rows = read_published(path)
    by_key = {(r.chip, r.figure): r for r in rows}
    checks, used = [], set()
    for rule in R.RULES:
        row = by_key.get((rule.chip, rule.figure))
        if row is None:
            continue
        used.add((row.chip, row.figure))
        published = rule.published(by_key) if rule.published else component(row, rule.index)
        predicted, how = rule.predict()
        if not (math.isfinite(predicted) and published > 0):
            raise SimlowError(f"{row.chip} / {row.figure}: no finite prediction or non-positive published value")
        figure = f"{row.figure} [{rule.label}]" if rule.label else row.figure
        checks.append(Check(row.chip, figure, rule.kind, rule.role, published, predicted, rule.unit, how,
                            row.source, row.confidence))
    unpredicted = tuple(Unpredicted(r.chip, r.figure, R.reason_unpredicted(r)) for r in rows
                        if (r.chip, r.figure) not in used)
    return SiliconReport(str(path), tuple(checks), unpredicted, R.FITTED)
