"""Validation: predict every measured row simlow understands and report the error.

``validate(data_dir)`` reads the CSVs (``simlow.validation.measured``), predicts each mapped row
with the roofline, and returns a ``Report``: per-row results, and median and 90th-percentile
absolute percentage error, decode and prefill separately, overall and per source, stack,
stack build era, device, mapping and calibration split, plus the rows it could not map with the reason.
Error is ``(predicted - measured) / measured``.

Mapping (``RowResult.mapping``): ``scheme`` (the labelled scheme reproduces the file),
``by_size`` (the file's size identifies another scheme), ``size_matched`` (an approximation:
the labelled scheme with its weight bytes scaled to the file's size; see
``dynamic_mixes`` of ``workloads/measured/mapping.yaml``). Headline groups are given with and without the
size-matched rows (``overall`` and ``overall, no size-matched``).

Era (``RowResult.era``, ``simlow.sim.eras``): the row is predicted with its stack's
calibration for the llama.cpp build the CSV states (``<stack>@<builds>``), or the newest
(``<stack>@newest``) when it states none or one outside every era.

Split (``RowResult.split``), read from the row's stack file at its era: ``in-sample`` when the row's
group (device, model or scheme, whichever the stack's ``calibration`` names its groups by)
is among the groups the stack was fitted on ("from N training rows (groups: ...)"; rows of
such a group added after the fit count as in-sample too, which is conservative);
``held-out`` when it is not; ``uncalibrated`` when the stack states no fit. A multi-device
row (``Case.tp`` > 1: tensor parallel, ``simlow.sim.parallel``) is ``held-out`` whatever its
group: ``mapped_rows`` leaves such rows out unless asked (``multi_device=True``, as
``validate`` does), so no fit ever sees them; they share their device, stack and source with
single-device rows a stack may be fitted on, so what they test is the multi-device model on
top of that calibration (``devices:<N>`` groups).

The default data directory is the shipped ``workloads/measured/`` (its README gives each file's provenance).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from simlow.errors import SimlowError
from simlow.validation.measured import SIZE_MATCHED, Case, Measured, RowKind, case_scheme, map_row, read_dir
from simlow.specs.registry import data_root

METRICS = ("decode", "prefill")
SPLITS = ("in-sample", "held-out", "uncalibrated")
OVERALL, NO_SIZE_MATCHED, ONLY_SIZE_MATCHED = "overall", "overall, no size-matched", "size-matched only"


def default_data_dir() -> Path:
    return data_root() / "workloads" / "measured"


@dataclass(frozen=True)
class RowResult:
    source: str
    line: int
    device: str
    hw: str
    model: str
    scheme: str
    stack: str
    test: str
    metric: str              # decode | prefill
    measured: float
    predicted: float
    error: float             # (predicted - measured) / measured
    measured_power_w: float | None = None
    predicted_power_w: float | None = None
    mapping: str = "scheme"  # simlow.validation.measured.MAPPINGS
    split: str = "uncalibrated"   # SPLITS
    note: str = ""
    era: str = ""            # the stack calibration that predicted it: <stack>@<builds> | <stack>@newest
    devices: int = 1         # devices the row ran on (tensor parallel); 1: one device


@dataclass(frozen=True)
class Summary:
    n: int
    median_abs: float | None
    p90_abs: float | None
    median_signed: float | None


@dataclass(frozen=True)
class Report:
    rows: tuple[RowResult, ...]
    unmapped: tuple[tuple[str, int, str], ...]        # (source, line, reason)
    data_dir: str
    summaries: dict = field(default_factory=dict)    # group -> metric -> Summary (see ``_summaries``)

    def to_dict(self) -> dict:
        return {"data_dir": self.data_dir, "n_scored": len(self.rows), "n_unmapped": len(self.unmapped),
                "rows": [asdict(r) for r in self.rows],
                "unmapped": [{"source": s, "line": n, "reason": why} for s, n, why in self.unmapped],
                "summaries": {k: {m: asdict(s) for m, s in v.items()} for k, v in self.summaries.items()}}


def summarize(errors) -> Summary:
    e = np.asarray(list(errors), dtype=np.float64)
    if e.size == 0:
        return Summary(0, None, None, None)
    a = np.abs(e)
    return Summary(int(e.size), float(np.median(a)), float(np.percentile(a, 90)), float(np.median(e)))


def predicted_rate(case: Case, stack=None) -> tuple[float, float | None]:
    """The predicted figure a row measures (tok/s) and the predicted average board power.

    ``stack`` overrides the case's stack (a ``Stack`` object, used by calibration)."""
    from simlow.sim.predict import predict

    p = predict(case.model, case.hw, case_scheme(case), batch=case.batch, prompt=case.prompt, gen=case.gen,
                depth=case.depth, stack=stack if stack is not None else case_stack(case), ubatch=case.ubatch,
                tp=case.tp)
    if case.kind is RowKind.PP:
        return p.prefill_tok_s, p.energy.get("prefill_avg_w")
    if case.kind is RowKind.TG:
        return p.decode_tok_s, p.energy.get("decode_avg_w")
    return case.batch * case.gen / (p.prefill_s + p.decode_s), None


def mapped_rows(data_dir: Path | str | None = None, size_matched: bool = False, multi_device: bool = False
                ) -> tuple[list[tuple[Measured, Case]], list[tuple[str, int, str]]]:
    """(row, case) for every mappable row, and (source, line, reason) for the rest.

    Size-matched rows (an approximation; predict them with ``case_scheme(case)``) are
    included only with ``size_matched=True``, multi-device rows (``case.tp > 1``) only with
    ``multi_device=True``; otherwise they are listed with the reason."""
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    if not data.is_dir():
        raise SimlowError(f"validation data directory {str(data)!r} does not exist "
                          "(give --data DIR: a folder of measured CSVs like workloads/measured/)")
    ok, bad = [], []
    for row in read_dir(data):
        try:
            case = map_row(row)
        except SimlowError as err:
            case = str(err)
        if not isinstance(case, str) and case.mapping == SIZE_MATCHED and not size_matched:
            case = f"size-matched only (left out here): {case.note}"
        if not isinstance(case, str) and case.tp > 1 and not multi_device:
            case = f"tensor parallel over {case.tp} devices (left out here: held out of every fit)"
        if isinstance(case, str):
            bad.append((row.source, row.line, case))
        else:
            ok.append((row, case))
    return ok, bad


def validate(data_dir: Path | str | None = None) -> Report:
    """Predict every mapped row of ``data_dir`` (size-matched ones included, flagged) and
    summarize the errors."""
    ok, bad = mapped_rows(data_dir, size_matched=True, multi_device=True)
    results = []
    for row, case in ok:
        try:
            pred, watts = predicted_rate(case)
        except SimlowError as err:
            bad.append((row.source, row.line, f"prediction refused: {err}"))
            continue
        results.append(RowResult(row.source, row.line, row.device, case.hw, case.model, case.scheme, case.stack,
                                 row.test, case.metric, row.tok_s, pred, pred / row.tok_s - 1.0,
                                 row.power_w, watts, case.mapping, split_of(case), case.note, case_stack(case).label,
                                 case.tp))
    data = str(Path(data_dir) if data_dir is not None else default_data_dir())
    return Report(tuple(results), tuple(bad), data, _summaries(results))


# -- calibration split ---------------------------------------------------------------------

def case_stack(case: Case):
    """The stack calibration a case is predicted with: its stack at the era of its build
    (``simlow.sim.eras``; the newest when the row states no build or one outside every era)."""
    from simlow.sim.stack_load import load_stack

    return load_stack(case.stack).at_build(case.build)


def split_of(case: Case) -> str:
    """``in-sample``, ``held-out`` or ``uncalibrated`` of the case's era (module docstring)."""
    fit = case_stack(case).fitted_on
    if case.tp > 1:
        return "held-out"
    return "uncalibrated" if fit is None else fit.split_of(getattr(case, fit.by.value))


# -- summaries -----------------------------------------------------------------------------

def _summaries(results: list[RowResult]) -> dict:
    """Group name -> metric -> Summary. Groups, in order: ``overall``, ``overall, no
    size-matched``, ``size-matched only``, ``split:<split>`` (every row and without the
    size-matched ones), ``mapping:<mapping>``, ``source:<file>``, ``stack:<stack>``,
    ``era:<stack>@<era>``, ``hw:<device>``, ``devices:<N>``, then ``era:<stack>@<era>, <split>``."""
    groups: dict[str, list[RowResult]] = {
        OVERALL: results, NO_SIZE_MATCHED: [r for r in results if r.mapping != SIZE_MATCHED],
        ONLY_SIZE_MATCHED: [r for r in results if r.mapping == SIZE_MATCHED]}
    for split in SPLITS:
        groups[f"split:{split}"] = [r for r in results if r.split == split]
        groups[f"split:{split}, no size-matched"] = [r for r in groups[f"split:{split}"] if r.mapping != SIZE_MATCHED]
    for prefix, attr in (("mapping", "mapping"), ("source", "source"), ("stack", "stack"), ("era", "era"),
                         ("hw", "hw"), ("devices", "devices")):
        for value in sorted({getattr(r, attr) for r in results}):
            groups[f"{prefix}:{value}"] = [r for r in results if getattr(r, attr) == value]
    for era in sorted({r.era for r in results}):
        for split in SPLITS:
            groups[f"era:{era}, {split}"] = [r for r in results if r.era == era and r.split == split]
    out: dict = {}
    for key, rows in groups.items():
        out[key] = {m: summarize(r.error for r in rows if r.metric == m) for m in METRICS}
        watts = [(r.predicted_power_w / r.measured_power_w - 1) for r in rows
                 if r.measured_power_w and r.predicted_power_w]
        if watts:
            out[key]["power"] = summarize(watts)
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _cells(s: Summary) -> list[str]:
    return [str(s.n), _pct(s.median_abs), _pct(s.p90_abs)] if s.n else ["0", "-", "-"]


def to_markdown(report: Report) -> str:
    """A compact markdown table for a README: headline groups (with and without the
    size-matched rows, in-sample and held out), one line per stack era and split, then one
    line per device, each with decode and prefill rows, median and p90 of
    |predicted / measured - 1|."""
    head = ("| group | decode rows | decode median | decode p90 | prefill rows | prefill median | prefill p90 |\n"
            "|---|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    multi = [f"devices:{n}" for n in sorted({r.devices for r in report.rows}) if n > 1]
    for key in (OVERALL, NO_SIZE_MATCHED, ONLY_SIZE_MATCHED, "split:in-sample", "split:in-sample, no size-matched",
                "split:held-out",
                "split:held-out, no size-matched", "split:uncalibrated", *multi):
        s = report.summaries.get(key)
        if s and any(s[m].n for m in METRICS):
            lines.append("| " + " | ".join([f"**{key}**"] + _cells(s["decode"]) + _cells(s["prefill"])) + " |")
    lines += ["", head.replace("| group |", "| stack@era | split |", 1).replace("|---|", "|---|---|", 1)]
    for era in sorted({r.era for r in report.rows}):
        for split in SPLITS:
            s = report.summaries[f"era:{era}, {split}"]
            if any(s[m].n for m in METRICS):
                lines.append("| " + " | ".join([era, split] + _cells(s["decode"]) + _cells(s["prefill"])) + " |")
    lines += ["", head.replace("| group |", "| device | stacks |", 1).replace("|---|", "|---|---|", 1)]
    by_hw: dict[str, set] = {}
    for r in report.rows:
        by_hw.setdefault(r.hw, set()).add(r.stack)
    for hw in sorted(by_hw):
        s = report.summaries[f"hw:{hw}"]
        lines.append("| " + " | ".join([hw, ", ".join(sorted(by_hw[hw]))] + _cells(s["decode"]) + _cells(s["prefill"]))
                     + " |")
    sm = sum(r.mapping == SIZE_MATCHED for r in report.rows)
    lines += ["", f"{len(report.rows)} rows scored ({sm} size-matched: file mix unknown, weight bytes scaled to the "
              f"file's size), {len(report.unmapped)} not mapped; error = predicted / measured - 1 "
              "(`simlow validate`)."]
    return "\n".join(lines) + "\n"
