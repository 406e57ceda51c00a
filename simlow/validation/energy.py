"""``simlow validate --energy``: the power model (``simlow.sim.power``) against measured
power meters, per row, in-sample and held out.

Each scored row (``simlow.validation.energy_rows``) is predicted two ways:

- **at the measured speed**: the row's work (DRAM bytes and ops of its prefill and/or
  decode, from the roofline of the op graph) spread over the measured window, so
  ``J = P_active x t_measured + E_dyn(work)``, at most the cap x t. This checks the power
  model alone.
- **end to end**: the same work at simlow's own predicted times, as a prediction prices it
  (power at most the cap over the predicted time, ``power.at_speed``), so speed errors
  enter too (``J/token = W / (tok/s)``). Each row splits its end-to-end error into a speed
  part and a power part, ``1 + e_J = (1 + e_W) / (1 + e_tok/s)`` (``e2e_speed_error``: the
  predicted over the measured tok/s, i.e. the measured over the predicted seconds;
  ``e2e_power_error``: the predicted over the measured average power of what the meter reads),
  so a speed miss is not read as a power miss. simlow's speed of a serving stack (one whose
  file has a ``serving:`` block, ``simlow.sim.host``: vLLM) is its forward steps plus the
  engine's host time per step (per-step and per-request-part seconds x the batch, as
  ``simlow serving`` counts it; the energy rows are serving runs), during which every board of
  the group draws its active power (assumed: as the measured window is priced, every second at
  ``P_active``, which is what the constants were fitted on; the host time priced at idle
  power at the measured speed instead refitted worse, README). ``simlow predict`` has no host
  time (its speed is the forward pass).

Like with like: a ``board`` meter (NVML) is predicted as board power; a ``package`` meter
(powermetrics CPU+GPU+ANE) without the DRAM devices' energy; a ``net`` meter (a rail minus
its idle baseline) without the idle power. Rows that cannot be matched are skipped with the
reason (``pose``).

Split: a row is ``in-sample`` when its device is one the constants were fitted on
(``PowerConstants.fitted_on``), else ``held-out``: whole devices are held out; a
tensor-parallel row is ``held-out, multi-device`` (below). ``fit()``
re-derives the two constants (unit_cycle_pJ, onchip_pJ_per_bit) from the in-sample rows
(non-negative least squares of the relative J/token error at the measured speed, each
device weighted equally; the cap is not applied while fitting). A tensor-parallel row
(``EnergyCase.tp`` > 1: N boards, their meters summed; device group ``hw:<hw> x<N>``) is
``held-out, multi-device`` on any device and never fitted: it runs the roofline of the group
(``simlow.sim.parallel``: 1/N of every op per board, two all-reduces per layer inside each
step's time) at N boards' idle, active and capped power over the whole step.
Error is ``predicted / measured - 1``.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from simlow.errors import SimlowError
from simlow.sim import power
from simlow.sim.parallel import group_machine, group_power, peer_link, phases_with_comm
from simlow.validation.energy_rows import (EnergyCase, Meter, Window, board_case, load_energy_mapping, pose,
                                          read_energy)

SPLITS = ("in-sample", "held-out", "held-out, multi-device")
BOARD_SOURCE = "strix_halo_lhl_llmbench"   # the llama-bench file whose rows record average board power


@dataclass(frozen=True)
class Work:
    """What a case's window does, from the roofline: DRAM bytes, ops, unthrottled seconds."""

    nbytes: float
    ops: float
    seconds: tuple[np.ndarray, ...]  # per phase, per step
    step_bytes: tuple[np.ndarray, ...]
    step_ops: tuple[np.ndarray, ...]
    dev: power.DevicePower          # at the constants it was built with
    wire: float                     # on-chip energy factor of the node (power.wire_factor)
    unit_cycles: float              # engine units x clock (unit-cycles per second; 0 if unknown)
    host_s: float = 0.0             # the serving engine's host time over the window's steps (end to end)


@dataclass(frozen=True)
class ScoredRow:
    source: str
    line: int
    device: str
    hw: str
    model: str
    scheme: str
    stack: str
    batch: int
    meter: str
    window: str
    split: str
    measured_W: float
    measured_J_per_token: float
    predicted_W: float               # at the measured speed
    predicted_J_per_token: float
    error: float                     # J/token, at the measured speed
    e2e_W: float                     # end to end
    e2e_J_per_token: float
    e2e_error: float
    e2e_throttle: float              # power model's time under the cap / predicted time (not applied)
    devices: int = 1                 # boards in tensor parallel (their meters summed)
    # the end-to-end error split as J = W / (tok/s): 1 + e2e_error = (1 + e2e_power_error) / (1 + e2e_speed_error)
    e2e_speed_error: float = 0.0     # predicted / measured tok/s - 1 (measured seconds / predicted seconds - 1)
    e2e_power_error: float = 0.0     # predicted / measured average W (of what the meter reads) - 1


@dataclass(frozen=True)
class EnergyReport:
    rows: tuple[ScoredRow, ...]
    skipped: tuple[tuple[str, int, str], ...]
    constants: dict
    summaries: dict = field(default_factory=dict)
    prompt_assumption: str = ""

    def to_dict(self) -> dict:
        return {"constants": self.constants, "prompt_assumption": self.prompt_assumption,
                "summaries": self.summaries, "rows": [asdict(r) for r in self.rows],
                "skipped": [{"source": s, "line": n, "reason": why} for s, n, why in self.skipped]}


@functools.lru_cache(maxsize=4096)
def work(case: EnergyCase, k: power.PowerConstants = power.FITTED) -> Work:
    """The roofline work of a case's window (memoized: a pure function of frozen inputs)."""
    from simlow.sim import energy
    from simlow.sim.machine import machine
    from simlow.sim.phases import decode_times, prefill_times
    from simlow.sim.predict import resolve
    from simlow.workload.templates import templates

    req = resolve(case.model, case.hw, case.scheme, batch=case.batch, prompt=case.prompt, gen=case.gen,
                  stack=case.stack, depth=case.depth, ubatch=case.ubatch, tp=case.tp)
    temps, _ = templates(req.model, req.scheme)
    mach = machine(req.hw, req.stack, req.engine)
    run = group_machine(mach, case.tp)
    pre, dec = prefill_times(req, temps, run), decode_times(req, temps, run)
    if req.parallel is not None:
        pre, dec = phases_with_comm(req.parallel, req.model, peer_link(req.hw, req.parallel.link), req.batch,
                                    req.prompt, req.ubatch, pre, dec)
    phases = {Window.REQUEST: [pre, dec], Window.DECODE: [dec], Window.PREFILL: [pre]}[case.window]
    phases = [p for p in phases if p is not None]
    fmt = energy.matmul_format(temps, mach)
    nbytes = float(sum(np.sum(p.bytes) for p in phases))
    ops = float(sum(np.sum(np.broadcast_to(p.flops, np.shape(p.total_s))) for p in phases))
    host = req.stack.serving
    return Work(nbytes, ops,
                tuple(np.asarray(p.total_s, dtype=np.float64) for p in phases),
                tuple(np.broadcast_to(p.bytes, np.shape(p.total_s)) for p in phases),
                tuple(np.broadcast_to(p.flops, np.shape(p.total_s)) for p in phases),
                group_power(power.device_power(req.hw, req.engine, fmt, k), case.tp), power.wire_factor(req.hw),
                float(case.tp * (req.engine.units or 0) * (req.engine.clock_hz or 0)),
                0.0 if host is None else sum(host.seconds(np.size(p.total_s), req.batch) for p in phases))


def _seen(dev: power.DevicePower, case: EnergyCase, joules: float, seconds: float, nbytes: float) -> float:
    """The joules the row's meter would read of a predicted board energy."""
    if case.meter is Meter.PACKAGE:
        return joules - float(dev.dram_J(nbytes))
    if case.meter is Meter.NET:
        return joules - dev.idle_w * seconds
    return joules


def at_measured_speed(case: EnergyCase, w: Work) -> float:
    """Predicted joules of the window over the measured time (at most the cap x t)."""
    dev = w.dev
    joules = min(dev.active_w * case.seconds + float(dev.dynamic_J(w.nbytes, w.ops)), dev.cap_w * case.seconds)
    return _seen(dev, case, joules, case.seconds, w.nbytes)


def end_to_end(case: EnergyCase, w: Work) -> tuple[float, float, float]:
    """(joules the meter would read, predicted seconds, throttle factor) at simlow's own speed;
    the factor is the power model's stretch under the cap (reported, not applied to speed)."""
    steps = [power.steps(w.dev, t, b, f) for t, b, f in zip(w.seconds, w.step_bytes, w.step_ops)]
    joules = float(sum(np.sum(power.capped_J(w.dev, s, t)) for s, t in zip(steps, w.seconds)))
    forward = float(sum(np.sum(t) for t in w.seconds))
    throttle = float(sum(np.sum(s.seconds) for s in steps)) / forward
    # the serving engine's host time, serial with the forward passes, at the group's active power: the
    # power model prices every second of an engine's window so (at_measured_speed; how FITTED was fitted)
    joules += min(w.dev.active_w, w.dev.cap_w) * w.host_s
    seconds = forward + w.host_s
    return _seen(w.dev, case, joules, seconds, w.nbytes), seconds, throttle


def _summary(errors) -> dict:
    """n, median and p90 of |error|, median signed error (``simlow.validation.validate.summarize``)."""
    from simlow.validation.validate import summarize

    return asdict(summarize(errors))


def summaries(rows) -> dict:
    groups = {"all": list(rows)}
    for s in SPLITS:
        groups[f"split:{s}"] = [r for r in rows if r.split == s]
    for prefix, key in (("source", lambda r: r.source), ("meter", lambda r: r.meter), ("hw", _device_group)):
        for value in sorted({key(r) for r in rows}):
            groups[f"{prefix}:{value}"] = [r for r in rows if key(r) == value]
    out = {g: {"J_per_token": _summary(r.error for r in rs),
                "power": _summary(r.predicted_W / r.measured_W - 1 for r in rs),
                "e2e_J_per_token": _summary(r.e2e_error for r in rs),
                "e2e_speed": _summary(r.e2e_speed_error for r in rs),
                "e2e_power": _summary(r.e2e_power_error for r in rs)} for g, rs in groups.items()}
    for s in SPLITS:     # each device counted once: the median over devices of their median |error|
        per = [out[f"hw:{hw}"] for hw in sorted({_device_group(r) for r in rows if r.split == s})]
        out[f"split:{s}, per device"] = {m: {**_summary(d[m]["median_abs"] for d in per), "median_signed": None}
                                         for m in ("J_per_token", "power", "e2e_J_per_token", "e2e_speed",
                                                   "e2e_power")}
    return out


def cases(data_dir: Path | str | None = None):
    """(row, case) for every posable row and (source, line, reason) for the rest."""
    from simlow.validation.validate import default_data_dir, mapped_rows

    data = Path(data_dir) if data_dir is not None else default_data_dir()
    mapping = load_energy_mapping()
    ok, skipped = [], []
    for row in read_energy(data):
        c = pose(row, mapping)
        (skipped.append((row.source, row.line, c)) if isinstance(c, str) else ok.append((row, c)))
    rows, _ = mapped_rows(data)
    for row, case in rows:
        if row.source == BOARD_SOURCE:
            c = board_case(row, case)
            (skipped.append((row.source, row.line, c)) if isinstance(c, str) else ok.append((row, c)))
    return ok, skipped, mapping


def validate_energy(data_dir: Path | str | None = None, k: power.PowerConstants = power.FITTED) -> EnergyReport:
    """Score every posable energy row with the power model's constants ``k``."""
    ok, skipped, mapping = cases(data_dir)
    rows = []
    for row, case in ok:
        try:
            w = work(case, k)
        except SimlowError as err:
            skipped.append((row.source, row.line, f"prediction refused: {err}"))
            continue
        j = at_measured_speed(case, w)
        ej, es, thr = end_to_end(case, w)
        meas_jpt = case.joules / case.tokens
        rows.append(ScoredRow(row.source, row.line, row.device, case.hw, case.model, case.scheme, case.stack,
                              case.batch, case.meter.value, case.window.value,
                              _split(case, k),
                              row.power_w, meas_jpt, j / case.seconds, j / case.tokens, j / case.joules - 1,
                              ej / es, ej / case.tokens, ej / case.joules - 1, thr, case.tp,
                              case.seconds / es - 1, (ej / es) / (case.joules / case.seconds) - 1))
    return EnergyReport(tuple(rows), tuple(skipped), asdict(k), summaries(rows),
                        f"prompt {mapping.prompt_tokens} tokens where a row gives none ({mapping.prompt_source})")


def _split(case: EnergyCase, k: power.PowerConstants) -> str:
    if case.tp > 1:
        return "held-out, multi-device"
    return "in-sample" if case.hw in k.fitted_on else "held-out"


def _device_group(r: ScoredRow) -> str:
    """``<hw>`` for one board, ``<hw> x<N>`` for N boards in tensor parallel."""
    return r.hw if r.devices == 1 else f"{r.hw} x{r.devices}"


# -- fit -----------------------------------------------------------------------------------

def _design(case: EnergyCase, w: Work) -> tuple[float, np.ndarray]:
    """Measured-speed joules as ``a0 + A . (unit_cycle_pJ, onchip_pJ_per_bit)``."""
    d, t = w.dev, case.seconds
    base = d.idle_w * t + (float(d.dram_J(w.nbytes)) if case.meter is not Meter.PACKAGE else 0.0) + d.op_J * w.ops
    if case.meter is Meter.NET:
        base -= d.idle_w * t
    return base, np.array([w.unit_cycles * w.wire * 1e-12 * t, 8.0 * w.nbytes * 1e-12 * w.wire])


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares of ``a x = b`` for a few unknowns, by trying every set of
    free unknowns (the others at 0) and keeping the best feasible solution."""
    best, best_x = np.inf, np.zeros(a.shape[1])
    for n in range(1, a.shape[1] + 1):
        for free in itertools.combinations(range(a.shape[1]), n):
            x = np.zeros(a.shape[1])
            x[list(free)] = np.linalg.lstsq(a[:, free], b, rcond=None)[0]
            r = float(np.sum((a @ x - b) ** 2))
            if np.all(x >= 0) and r < best:
                best, best_x = r, x
    return best_x


def fit(data_dir: Path | str | None = None, devices: tuple[str, ...] = power.FITTED.fitted_on) -> power.PowerConstants:
    """The constants that best fit the rows of ``devices`` (relative J/token error at the
    measured speed); rows of other devices are not read."""
    ok, _, _ = cases(data_dir)
    a, b, hws = [], [], []
    for _, case in ok:
        if case.hw not in devices or case.tp > 1:   # tensor-parallel rows are held out of the fit
            continue
        base, coef = _design(case, work(case))
        a.append(coef / case.joules)
        b.append(1.0 - base / case.joules)
        hws.append(case.hw)
    if not a:
        raise SimlowError(f"no energy row of {', '.join(devices)} to fit on")
    # every device weighs the same whatever its row count (Strix Halo has ~10x the others' rows)
    weight = np.sqrt(np.array([1.0 / hws.count(h) for h in hws]))
    x = _nnls(np.array(a) * weight[:, None], np.array(b) * weight)
    return replace(power.FITTED, unit_cycle_pJ=float(x[0]), onchip_pJ_per_bit=float(x[1]), fitted_on=tuple(devices),
                   source=f"refitted on {len(a)} rows of {', '.join(devices)}")
