"""Fitting a stack's few physical parameters to measured rows (a development tool).

Parameters per stack (shared by every device the stack runs on; nothing per device):

    bandwidth     achieved fraction of peak DRAM bandwidth (every op class)
    matmul        achieved fraction of peak compute in matmuls (a ceiling)
    unit_rate     matmul ops per compute unit per clock the kernels issue (a ceiling;
                  ``Stack.matmul_unit_rate``)
    energy        board joules per matmul op: TDP / energy is a ceiling (``matmul_energy``);
                  a matmul runs at the lowest of the three ceilings. With
                  ``mode="node"`` it is instead the dimensionless ``matmul_energy_scale``:
                  board energy per op = scale x the MAC's energy per op at each device's
                  node (``simlow.sim.machine.mac_energy_per_op``), one number per stack
    attention     achieved fraction of peak compute in attention
    kernel        seconds per kernel launch
    mem_rate      DRAM bytes per compute unit per clock the kernels sustain (a ceiling on
                  the achieved bandwidth; ``Stack.memory_unit_rate``, ``simlow.sim.machine``)
    dequant       extra matmul time of quantized weights, in ops at peak per matmul op
                  (``Stack.dequant_cost``, ``simlow.sim.machine.dequant_factor``)
    step          seconds per forward pass (``Stack.step_overhead_s``: host-side graph
                  build and launch, sampling, synchronisation; one per decode token)

Size-matched rows (``simlow.validation.measured.SIZE_MATCHED``: a file whose per-tensor mix is
unknown) are never fitted on. Vector ops keep the stack file's (assumed) compute efficiency; with no prefill rows, so do
matmul, unit_rate and attention (only bandwidth and kernel overhead are fitted).
``fixed`` pins named parameters at the stack file's values (e.g. a stack whose rows come
from one device cannot tell ``matmul`` from ``unit_rate``). The fit minimises a robust
(soft-L1) sum of squared log errors ``log(predicted / measured)`` over the *training* rows,
each row weighted by 1 / (rows in its group), so every device (or model) counts equally
and one heavily benchmarked device does not set the stack alone;
rows are split by device (or by model, then by scheme, when there are fewer than 3 devices): the groups sorted by
name, every third group (index 2, 5, 8, ...) is held out. ``fit_stack`` reports the median
absolute error on both splits, so the accuracy claimed is not in-sample only.

Each row's roofline is precomputed once at unit efficiencies (per op: time at peak compute,
time at one op per unit per clock, time at peak bandwidth, launches), so a parameter vector
costs only array arithmetic.
Needs SciPy (the ``dev`` extra).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping

import numpy as np

from simlow.errors import SimlowError
from simlow.workload.features import features
from simlow.workload.op import OpClass
from simlow.workload.templates import templates
from simlow.sim.machine import dequant_factor, issue_rate, mac_energy_per_op, machine, run_format
from simlow.validation.measured import SIZE_MATCHED, Case, Measured, RowKind, case_scheme
from simlow.sim.predict import resolve
from simlow.sim.roofline import launches, op_terms, tile_fill
from simlow.sim.stacks import FitSplit, GroupBy, Stack
from simlow.sim.stack_load import load_stack

PARAMS = ("bandwidth", "matmul", "unit_rate", "energy", "attention", "kernel", "step", "mem_rate", "dequant")
class EnergyMode(enum.StrEnum):
    """What the fitted energy parameter is: board joules per op, or a multiple of the node's MAC energy."""
    ABSOLUTE = "absolute"
    NODE = "node"


MODES = tuple(EnergyMode)


def _mode(value: EnergyMode | str) -> EnergyMode:
    try:
        return EnergyMode(value)
    except ValueError:
        raise SimlowError(f"unknown energy mode {value!r} (valid: {', '.join(MODES)})") from None


def default_mode(stack) -> EnergyMode:
    """NODE when the stack states its matmul energy as a scale of the node's MAC energy."""
    return EnergyMode.NODE if stack.matmul_energy_scale is not None else EnergyMode.ABSOLUTE
_LO = np.array([0.05, 0.01, 10.0, 0.01, 0.005, 0.0, 0.0, 0.5, 0.0])
_HI = np.array([1.0, 1.0, 4096.0, 100.0, 1.0, 50.0, 20000.0, 10000.0, 10.0])   # energy pJ, kernel and step us
_NO_RATE, _NO_ENERGY, _NO_MEM = 4096.0, 0.01, 10000.0    # start values when the stack has no cap
# mode "node": the energy parameter is the dimensionless scale (bounds, no-cap start, power start)
_NODE_ENERGY = (0.5, 20000.0, 0.5, 150.0)


@dataclass(frozen=True)
class Fit:
    stack: str
    params: dict
    train_groups: tuple[str, ...]
    test_groups: tuple[str, ...]
    n_train: int
    n_test: int
    mode: EnergyMode                # ABSOLUTE: params["energy"] in J/op; NODE: the scale
    train_median_abs: dict          # metric -> median |error|
    test_median_abs: dict
    cost: float = 0.0               # robust training cost at the optimum (comparable across tiles)
    tile_rows: float | None = None  # the GEMM row tile the fit ran with (Stack.matmul_tile_rows)
    group_by: GroupBy = GroupBy.HW  # what the split kept whole (group_key)

    def fitted_on(self) -> FitSplit:
        """The split as the stack file's ``fitted_on`` records it."""
        return FitSplit(self.group_by, frozenset(self.train_groups), frozenset(self.test_groups))


def _unit(stack: Stack) -> Stack:
    one = MappingProxyType({c.value: 1.0 for c in OpClass})
    return replace(stack, bandwidth=one, compute_efficiency=one, kernel_overhead_s=0.0, step_overhead_s=0.0,
                   matmul_unit_rate=None, memory_unit_rate=None, dequant_cost=None, matmul_energy_J=None,
                   matmul_energy_scale=None)


def _energy_unit(req, t, mode: EnergyMode) -> float:
    """Joules per op of ``t`` at energy parameter 1: 1 pJ (absolute), or the MAC energy per
    op of the format ``t`` runs in at the device's node (node; 0: no node, no cap)."""
    if mode is EnergyMode.ABSOLUTE:
        return 1e-12
    mac = mac_energy_per_op(req.hw, run_format(t, req.stack, req.engine))
    return 0.0 if mac is None else mac


def _phase_terms(req, temps, mach, batch, tokens, ctx, mode: EnergyMode = EnergyMode.ABSOLUTE) -> tuple[list, int]:
    """(per op: (class, repeat, t_compute at peak, t_compute at 1 op/unit/clock (0: no
    units or clock), t_compute at energy parameter 1 and TDP, t_memory at peak, t_memory at
    1 byte/unit/clock (0: no units or clock), kernels x steps), the phase's number of steps:
    the roofline adds the step overhead to each)."""
    moe = req.model.moe
    distinct = None if moe is None else req.routing.distinct(batch * np.asarray(tokens), moe.experts, moe.top_k)
    per_op_clock = issue_rate(replace(req.stack, matmul_unit_rate=1.0), req.engine)
    out = []
    for t in temps:
        f = features(t, batch, tokens, ctx, distinct)
        fl, _, tc, tm = op_terms(t, f, mach)
        fl = fl / tile_fill(t, f, mach.tile_rows)        # padded work: every ceiling sees it
        shape = np.shape(f["one"])
        tu = np.broadcast_to(fl / per_op_clock if per_op_clock else 0.0 * fl, shape)
        tw = np.broadcast_to(fl * _energy_unit(req, t, mode) / req.hw.power.tdp_w, shape)
        steps = np.size(np.broadcast_to(tm, shape))
        tmu = np.broadcast_to(tm * float(mach.bandwidth_Bps) / per_op_clock if per_op_clock else 0.0 * tm, shape)
        tdq = np.broadcast_to(tc if dequant_factor(replace(req.stack, dequant_cost=1.0), t) > 1 else 0.0 * tc, shape)
        kernels = float(np.sum(np.broadcast_to(launches(t, f, mach), shape)))     # over the phase's steps
        out.append((t.op_class.value, t.repeat, np.broadcast_to(tc, shape), tu, tw,
                    np.broadcast_to(tm, shape), tmu, tdq, kernels))
    n_steps = np.size(np.broadcast_to(np.asarray(ctx, dtype=np.float64), np.broadcast_shapes(
        np.shape(tokens), np.shape(ctx))))
    return out, n_steps


def row_terms(case: Case, stack: Stack, mode: EnergyMode = EnergyMode.ABSOLUTE):
    """(prefill terms or None, decode terms or None) of a case at unit efficiencies."""
    req = resolve(case.model, case.hw, case_scheme(case), case.batch, case.prompt, case.gen, None, None,
                  _unit(stack), None, case.depth, None, case.ubatch)
    temps, _ = templates(req.model, req.scheme)
    mach = machine(req.hw, req.stack, req.engine)
    pre = dec = None
    if req.prompt:
        starts = np.arange(0, req.prompt, req.ubatch, dtype=np.float64)
        pre = _phase_terms(req, temps, mach, req.batch, np.minimum(req.ubatch, req.prompt - starts),
                           req.depth + starts, mode)
    if req.gen:
        dec = _phase_terms(req, temps, mach, req.batch, 1, req.depth + req.prompt + np.arange(req.gen, dtype=float),
                           mode)
    return pre, dec


def _time(phase, theta: np.ndarray, unfitted: Mapping[str, float]) -> float:
    """Time of one phase at parameters ``theta`` (as ``PARAMS``, kernel in seconds; energy
    in the unit of the terms' energy column: pJ, or the node scale): the roofline's step
    time (``simlow.sim.roofline.step``) regrouped by parameter; tests check the two agree."""
    terms, n_steps = phase
    be, ce_mm, rate, joules, ce_att, ko, so, mem_rate, dq = theta
    ce = {"matmul": ce_mm, "attention": ce_att, **unfitted}
    total = so * n_steps
    for cls, rep, tc, tu, tw, tm, tmu, tdq, k in terms:
        t_comp = (np.maximum(np.maximum(tc / ce[cls] + dq * tdq, tu / rate), tw * joules) if cls == "matmul"
                  else tc / ce[cls])
        total += rep * (np.sum(np.maximum(t_comp, np.maximum(tm / be, tmu / mem_rate))) + ko * k)
    return float(total)


def unfitted_efficiency(stack: Stack) -> dict[str, float]:
    """The compute efficiencies the fit leaves as the stack states them (vector, gather)."""
    return {k: stack.compute_efficiency[k] for k in ("vector", "gather")}


def predicted(case: Case, terms, theta, unfitted: Mapping[str, float]) -> float:
    """A row's tok/s at parameters ``theta``; ``unfitted``: ``unfitted_efficiency(stack)``."""
    pre, dec = terms
    tp = _time(pre, theta, unfitted) if pre else 0.0
    td = _time(dec, theta, unfitted) if dec else 0.0
    if case.kind is RowKind.PP:
        return case.batch * case.prompt / tp
    if case.kind is RowKind.TG:
        return case.batch * case.gen / td
    return case.batch * case.gen / (tp + td)


def group_key(cases: list[Case]) -> str:
    """Split by device; by model, then by scheme, when there are fewer than 3 devices."""
    for key in ("hw", "model", "scheme"):
        if len({getattr(c, key) for c in cases}) >= 3:
            return key
    return "hw"


def split_groups(cases: list[Case]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, test) group keys: by device, or by model when there are fewer than 3 devices."""
    key = group_key(cases)
    groups = sorted({getattr(c, key) for c in cases})
    test = tuple(g for i, g in enumerate(groups) if i % 3 == 2)
    return tuple(g for g in groups if g not in test), test


def _bounds(mode: EnergyMode) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(lower, upper, energy start with no power cap, energy start for the power-bound
    start point) in fitting units."""
    mode = _mode(mode)
    if mode is EnergyMode.ABSOLUTE:
        return _LO, _HI, _NO_ENERGY, 3.0
    lo, hi = _LO.copy(), _HI.copy()
    lo[3], hi[3], none, power = _NODE_ENERGY
    return lo, hi, none, power


def _start(stack: Stack, mode: EnergyMode) -> np.ndarray:
    """The stack file's values as a parameter vector (kernel in microseconds; energy in
    pJ, or the node scale)."""
    ce = stack.compute_efficiency
    rate = stack.matmul_unit_rate if stack.matmul_unit_rate is not None else _NO_RATE
    given = stack.matmul_energy_J * 1e12 if mode is EnergyMode.ABSOLUTE and stack.matmul_energy_J else (
        stack.matmul_energy_scale if mode is EnergyMode.NODE else None)
    energy = given if given is not None else _bounds(mode)[2]
    mem = stack.memory_unit_rate if stack.memory_unit_rate is not None else _NO_MEM
    return np.array([stack.bandwidth["matmul"], ce["matmul"], rate, energy, ce["attention"],
                     stack.kernel_overhead_s * 1e6, stack.step_overhead_s * 1e6, mem, stack.dequant_cost or 0.0])


def _theta(x: np.ndarray) -> np.ndarray:
    """Fitting units (us) to SI (s); energy stays in the terms' unit (pJ or scale)."""
    return np.concatenate([x[:5], x[5:7] * 1e-6, x[7:]])


def _si(theta: np.ndarray, mode: EnergyMode) -> dict:
    """Reported parameters: SI, energy in J per op (absolute) or the dimensionless scale."""
    out = dict(zip(PARAMS, (float(v) for v in theta)))
    if mode is EnergyMode.ABSOLUTE:
        out["energy"] *= 1e-12
    return out


def _free(cases: list[Case], fixed: tuple[str, ...]) -> np.ndarray:
    """Which parameters the fit moves: compute ones only when prefill rows constrain them."""
    for p in fixed:
        if p not in PARAMS:
            raise SimlowError(f"unknown calibration parameter {p!r} (valid: {', '.join(PARAMS)})")
    prefill = any(c.kind is not RowKind.TG for c in cases)
    return np.array([p not in fixed and (prefill or p in ("bandwidth", "kernel", "step", "mem_rate")) for p in PARAMS])


_F_SCALE = 0.1     # soft-L1 knee: log errors beyond ~10% count linearly, not squared


LOSSES = ("soft_l1", "cauchy")


def _robust(r: np.ndarray, weight: np.ndarray, loss: str = "soft_l1") -> np.ndarray:
    """Residuals whose squares sum to the weighted robust cost (the knee applies to the
    unweighted error): soft-L1 ``sum w * 2 f^2 (sqrt(1 + (r/f)^2) - 1)`` (a miss far beyond
    the knee still pulls with constant force) or Cauchy ``sum w * f^2 log(1 + (r/f)^2)`` (its
    pull fades: a device the stack's kernels run far off, e.g. 2x, barely moves the fit)."""
    z = (r / _F_SCALE) ** 2
    if loss == "cauchy":
        return np.sign(r) * np.sqrt(weight * _F_SCALE**2 * np.log1p(z))
    return np.sign(r) * np.sqrt(weight * 2 * _F_SCALE**2 * (np.sqrt(1 + z) - 1))


def _starts(x0: np.ndarray, free: np.ndarray, mode: EnergyMode) -> list[np.ndarray]:
    """Start points: the stack file's values; the matmul ceiling set by the format peak
    alone; by the issue rate alone; by power alone (the ceilings make the cost non-convex);
    each also with the memory ceiling binding (``_MEM_START``) when it is free and the
    stack has none (a ceiling that does not bind has no gradient to start it)."""
    lo, hi, _, power = _bounds(mode)
    out = [x0]
    for mm, rate, pj in ((min(1.0, 2 * x0[1]), hi[2], lo[3]), (1.0, 512.0, lo[3]), (1.0, hi[2], power)):
        x = x0.copy()
        for i, v in ((1, mm), (2, rate), (3, pj)):
            x[i] = v if free[i] else x0[i]
        if not any(np.array_equal(x, o) for o in out):
            out.append(np.clip(x, lo, hi))
    if free[7] and x0[7] >= _NO_MEM:
        out += [np.concatenate([x[:7], [_MEM_START], x[8:]]) for x in out]
    return out


_MEM_START = 8.0      # bytes per unit per clock: about where A100-class HBM boards bind


def _mine(name: str, stack: Stack, rows, mode: EnergyMode) -> list:
    """(row, case, terms) of the rows of stack ``name`` in the era ``stack`` is for."""
    mine = []
    for r, c in rows:
        if c.stack != name or c.mapping == SIZE_MATCHED:
            continue            # size-matched rows (file mix unknown) never set a stack
        if load_stack(name).at_build(c.build).era != stack.era:
            continue            # another build era's row: fitted with that era
        try:
            mine.append((r, c, row_terms(c, stack, mode)))
        except SimlowError:
            continue            # a row predict refuses (validate lists it as unmapped)
    if not mine:
        raise SimlowError(f"no mapped rows for stack {stack.label}")
    return mine


_KEEP = object()


def fit_stack(name: str, rows: list[tuple[Measured, Case]], fixed: tuple[str, ...] = (),
              mode: EnergyMode | str | None = None, tile_rows=_KEEP, loss: str = "soft_l1", era: str | None = None) -> Fit:
    """Fit stack ``name`` on its rows (see the module docstring). ``mode`` (``MODES``)
    defaults to "node" when the stack file gives ``matmul_energy_scale``, else "absolute".
    ``tile_rows`` (a number or None) replaces the stack file's ``matmul_tile_rows``;
    ``loss`` is one of ``LOSSES``. ``era`` (``simlow.sim.eras``: a build range of the stack
    file, or None for the newest) fits that era's constants on the rows of its builds only,
    starting from its values."""
    if loss not in LOSSES:
        raise SimlowError(f"unknown loss {loss!r} (valid: {', '.join(LOSSES)})")
    try:
        from scipy.optimize import least_squares
    except ModuleNotFoundError:
        raise SimlowError("calibration needs SciPy (pip install 'simlow[dev]')") from None
    stack = load_stack(name if era is None else f"{name}@{era}")
    if tile_rows is not _KEEP:
        stack = replace(stack, matmul_tile_rows=None if tile_rows is None else float(tile_rows))
    mode = default_mode(stack) if mode is None else _mode(mode)
    lo, hi, _, _ = _bounds(mode)
    mine = _mine(name, stack, rows, mode)
    cases = [c for _, c, _ in mine]
    train_g, test_g = split_groups(cases)
    key = group_key(cases)
    terms = [t for _, _, t in mine]
    meas = np.array([r.tok_s for r, _, _ in mine])
    is_train = np.array([getattr(c, key) in train_g for c in cases])
    vec = unfitted_efficiency(stack)
    x0 = np.clip(_start(stack, mode), lo, hi)
    free = _free(cases, fixed)

    def full(xf):
        x = x0.copy()
        x[free] = xf
        return x

    groups = [getattr(c, key) for c in cases]
    weight = np.array([1.0 / groups.count(g) for g in groups])[is_train]   # every group counts equally

    def resid(xf):
        theta = _theta(full(xf))
        r = np.array([np.log(predicted(c, t, theta, vec) / m)
                      for c, t, m, tr in zip(cases, terms, meas, is_train) if tr])
        return _robust(r, weight, loss)

    sol = min((least_squares(resid, start[free], bounds=(lo[free], hi[free]),
                             x_scale=np.maximum(np.abs(start[free]), 1e-3)) for start in _starts(x0, free, mode)),
              key=lambda r: r.cost)
    theta = _theta(full(sol.x))
    errs = np.array([predicted(c, t, theta, vec) / m - 1 for c, t, m in zip(cases, terms, meas)])
    metric = np.array([c.metric for c in cases])
    return Fit(name, _si(theta, mode), train_g, test_g, int(is_train.sum()), int((~is_train).sum()), mode,
               _medians(errs, metric, is_train), _medians(errs, metric, ~is_train), float(sol.cost),
               stack.matmul_tile_rows, GroupBy(key))


def _medians(errs: np.ndarray, metric: np.ndarray, mask: np.ndarray) -> dict:
    """Median |error| per metric over the rows of ``mask`` (None: no such row)."""
    return {mm: (float(np.median(np.abs(errs[mask & (metric == mm)]))) if np.any(mask & (metric == mm))
                 else None) for mm in ("decode", "prefill")}


# llama.cpp MMQ picks its row tile mmq_x among multiples of 8 up to 128 (ggml-cuda mmq.cuh
# mul_mat_q_case); the fit tries these, and no tile at all
TILE_GRID = (None, 16.0, 32.0, 48.0, 64.0, 96.0, 128.0)


def fit_tile(name: str, rows: list[tuple[Measured, Case]], grid=TILE_GRID, **kw) -> tuple[Fit, ...]:
    """``fit_stack`` at every row tile of ``grid`` (the tile makes the cost a step function,
    so it is searched, not descended); the fits in grid order (pick by ``Fit.cost``)."""
    return tuple(fit_stack(name, rows, tile_rows=t, **kw) for t in grid)
