"""Board-level energy per token of existing devices: the simulator's energy model against
measured power.

``simlow.sim.predict`` already computes ``energy_j_per_token`` (``simlow.sim.energy``); this
module does not compute it again. It checks it (``simlow validate --energy`` scores the
other meters; this is the Strix Halo llama-bench board power): for every decode row of the Strix Halo
llama-bench runs (``workloads/measured/strix_halo_lhl_llmbench.csv``, average board power
per run) that ``simlow.validation.validate.mapped_rows`` maps to a prediction, it compares

    measured J/token  = avg_power_w / tokens_per_s
    predicted J/token = Prediction.energy_j_per_token  (decode energy / generated tokens)

and splits the error into its speed part and its power part (``J = W / (tok/s)``, so
``1 + e_J = (1 + e_W) / (1 + e_tok/s)``).

What is modelled and what is calibrated (``MODELLED``, ``CALIBRATED``) is stated with the
result; nothing here is fitted to the measured power.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from simlow.errors import SimlowError
from simlow.validation.measured import RowKind

MODELLED = (
    "decode time per token: the roofline of the op graph over the device spec under the row's software stack "
    "(simlow.sim.predict)",
    "board power during decode: the power model of simlow.sim.power (idle + the GPU's clocked units, DRAM bytes "
    "x J/bit by memory type, on-chip traffic, ops x the board's J/op, throttled under the TDP cap; "
    "simlow.sim.energy)",
)
CALIBRATED = (
    "the power model's two global constants are fitted on other devices' meters (simlow.sim.power.FITTED: "
    "A100 and RTX 3090 rows of workloads/measured/energy_*.csv), none on Strix Halo; TDP (120 W) and idle "
    "(10 W, assumed) come from hwspecs/strix-halo.yaml, DRAM energy per bit from the cost table's LPDDR5X row",
    "the stack's bandwidth and compute efficiencies (workloads/stacks/*.yaml) set the predicted speed and so the "
    "utilization; they are fitted to measured speeds (each stack's calibration field, kept per row in "
    "stack_calibration), partly on these very Strix Halo rows, so the speed part of the error is not an "
    "independent check; the power part is",
)


@dataclass(frozen=True)
class EnergyRow:
    line: int
    model: str
    scheme: str
    stack: str
    test: str
    measured_tok_s: float
    measured_W: float
    measured_J_per_token: float
    predicted_tok_s: float
    predicted_W: float
    predicted_J_per_token: float
    error: float               # predicted / measured J per token - 1
    speed_error: float         # predicted / measured tok/s - 1
    power_error: float         # predicted / measured W - 1


@dataclass(frozen=True)
class BoardEnergyComparison:
    device: str
    rows: tuple[EnergyRow, ...]
    skipped: tuple[tuple[int, str], ...]   # (line, reason)
    median_abs_error: float
    p90_abs_error: float
    median_error: float
    median_speed_error: float
    median_power_error: float
    stack_calibration: tuple[tuple[str, str], ...] = ()   # (stack, its calibration text)
    modelled: tuple[str, ...] = MODELLED
    calibrated: tuple[str, ...] = CALIBRATED

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rows"] = [asdict(r) for r in self.rows]
        return d


def _predict(case):
    from simlow.sim.predict import predict

    p = predict(case.model, case.hw, case.scheme, batch=case.batch, prompt=case.prompt, gen=case.gen,
                depth=case.depth, stack=case.stack)
    return p.decode_tok_s, p.energy.get("decode_avg_w"), p.energy_j_per_token


def compare_decode_energy(data_dir: Path | str | None = None, device: str = "strix-halo") -> BoardEnergyComparison:
    """Predicted against measured decode J/token for every mapped decode row of ``device``
    that records an average power (see the module docstring)."""
    from simlow.validation.validate import mapped_rows

    ok, _ = mapped_rows(data_dir)
    rows, skipped, cache = [], [], {}
    for row, case in ok:
        if case.hw != device or case.kind is not RowKind.TG:
            continue
        if not row.power_w or row.tok_s <= 0:
            skipped.append((row.line, "no measured average power"))
            continue
        try:
            if case not in cache:
                cache[case] = _predict(case)
        except SimlowError as err:
            skipped.append((row.line, f"prediction refused: {err}"))
            continue
        tok_s, watts, jpt = cache[case]
        meas_j = row.power_w / row.tok_s
        rows.append(EnergyRow(row.line, case.model, case.scheme, case.stack, row.test, row.tok_s, row.power_w, meas_j,
                              tok_s, watts, jpt, jpt / meas_j - 1, tok_s / row.tok_s - 1, watts / row.power_w - 1))
    if not rows:
        raise SimlowError(f"no decode row with measured power maps to {device!r} in the validation data")
    from simlow.sim.stack_load import load_stack

    e = np.array([r.error for r in rows])
    calib = tuple((s, load_stack(s).calibration) for s in sorted({r.stack for r in rows}))
    return BoardEnergyComparison(device, tuple(rows), tuple(skipped), float(np.median(np.abs(e))),
                                 float(np.percentile(np.abs(e), 90)), float(np.median(e)),
                                 float(np.median([r.speed_error for r in rows])),
                                 float(np.median([r.power_error for r in rows])), calib)
