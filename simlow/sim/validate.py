"""Validation: predict every measured row simlow understands and report the error.

``validate(data_dir)`` reads the CSVs (``simlow.sim.measured``), predicts each mapped row
with the roofline, and returns a ``Report``: per-row results, per-source and overall median
and 90th-percentile absolute percentage error, decode and prefill separately, and the rows
it could not map with the reason. Error is ``(predicted - measured) / measured``.

The default data directory is ``../shared/validation`` beside the repository root.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from simlow.errors import SimlowError
from simlow.sim.measured import Case, Measured, map_row, read_dir
from simlow.specs.registry import data_root


def default_data_dir() -> Path:
    return data_root().parent / "shared" / "validation"


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
    summaries: dict = field(default_factory=dict)    # "overall"/source/hw -> metric -> Summary

    def to_dict(self) -> dict:
        return {"data_dir": self.data_dir, "rows": [asdict(r) for r in self.rows],
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

    p = predict(case.model, case.hw, case.scheme, batch=case.batch, prompt=case.prompt, gen=case.gen,
                depth=case.depth, stack=stack if stack is not None else case.stack, ubatch=case.ubatch)
    if case.kind == "pp":
        return p.prefill_tok_s, p.energy.get("prefill_avg_w")
    if case.kind == "tg":
        return p.decode_tok_s, p.energy.get("decode_avg_w")
    return case.batch * case.gen / (p.prefill_s + p.decode_s), None


def mapped_rows(data_dir: Path | str | None = None) -> tuple[list[tuple[Measured, Case]], list[tuple[str, int, str]]]:
    """(row, case) for every mappable row, and (source, line, reason) for the rest."""
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    if not data.is_dir():
        raise SimlowError(f"validation data directory {str(data)!r} does not exist "
                          "(give --data DIR; CI keeps ../shared/validation beside the clone)")
    ok, bad = [], []
    for row in read_dir(data):
        try:
            case = map_row(row)
        except SimlowError as err:
            case = str(err)
        if isinstance(case, str):
            bad.append((row.source, row.line, case))
        else:
            ok.append((row, case))
    return ok, bad


def validate(data_dir: Path | str | None = None) -> Report:
    """Predict every mapped row of ``data_dir`` and summarize the errors."""
    ok, bad = mapped_rows(data_dir)
    results = []
    for row, case in ok:
        try:
            pred, watts = predicted_rate(case)
        except SimlowError as err:
            bad.append((row.source, row.line, f"prediction refused: {err}"))
            continue
        results.append(RowResult(row.source, row.line, row.device, case.hw, case.model, case.scheme, case.stack,
                                 row.test, case.metric, row.tok_s, pred, pred / row.tok_s - 1.0,
                                 row.power_w, watts))
    data = str(Path(data_dir) if data_dir is not None else default_data_dir())
    return Report(tuple(results), tuple(bad), data, _summaries(results))


def _summaries(results: list[RowResult]) -> dict:
    out: dict = {}
    groups = {"overall": results}
    for r in results:
        groups.setdefault(f"source:{r.source}", []).append(r)
        groups.setdefault(f"hw:{r.hw}", []).append(r)
        groups.setdefault(f"stack:{r.stack}", []).append(r)
    for key, rows in groups.items():
        out[key] = {m: summarize(r.error for r in rows if r.metric == m) for m in ("decode", "prefill")}
        watts = [(r.predicted_power_w / r.measured_power_w - 1) for r in rows
                 if r.measured_power_w and r.predicted_power_w]
        if watts:
            out[key]["power"] = summarize(watts)
    return out
