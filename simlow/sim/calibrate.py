"""Fitting a stack's few physical parameters to measured rows (a development tool).

Parameters per stack (shared by every device the stack runs on; nothing per device):

    bandwidth     achieved fraction of peak DRAM bandwidth (every op class)
    matmul        achieved fraction of peak compute in matmuls
    attention     achieved fraction of peak compute in attention
    kernel        seconds per kernel launch

Vector ops keep the stack file's (assumed) compute efficiency; with no prefill rows, so do
matmul and attention (only bandwidth and kernel overhead are fitted). The fit minimises a robust
(soft-L1) sum of squared log errors ``log(predicted / measured)`` over the *training* rows;
rows are split by device (or by model, then by scheme, when there are fewer than 3 devices): the groups sorted by
name, every third group (index 2, 5, 8, ...) is held out. ``fit_stack`` reports the median
absolute error on both splits, so the accuracy claimed is not in-sample only.

Each row's roofline is precomputed once at unit efficiencies (per op: time at peak compute,
time at peak bandwidth, launches), so a parameter vector costs only array arithmetic.
Needs SciPy (the ``dev`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from simlow.errors import SimlowError
from simlow.graph import OpClass, features, templates
from simlow.sim.machine import machine
from simlow.sim.measured import Case, Measured
from simlow.sim.predict import resolve
from simlow.sim.roofline import op_terms
from simlow.sim.stacks import Stack, load_stack

PARAMS = ("bandwidth", "matmul", "attention", "kernel")
_LO = np.array([0.05, 0.01, 0.005, 0.0])
_HI = np.array([1.0, 1.0, 1.0, 50e-6])


@dataclass(frozen=True)
class Fit:
    stack: str
    params: dict
    train_groups: tuple[str, ...]
    test_groups: tuple[str, ...]
    n_train: int
    n_test: int
    train_median_abs: dict          # metric -> median |error|
    test_median_abs: dict


def _unit(stack: Stack) -> Stack:
    one = MappingProxyType({c.value: 1.0 for c in OpClass})
    return replace(stack, bandwidth=one, compute_efficiency=one, kernel_overhead_s=0.0, step_overhead_s=0.0)


def _phase_terms(req, temps, mach, batch, tokens, ctx) -> list:
    """Per op: (class, repeat, t_compute at peak, t_memory at peak, kernels x steps)."""
    moe = req.model.moe
    distinct = None if moe is None else req.routing.distinct(batch * np.asarray(tokens), moe.experts, moe.top_k)
    out = []
    for t in temps:
        f = features(t, batch, tokens, ctx, distinct)
        _, _, tc, tm = op_terms(t, f, mach)
        steps = np.size(np.broadcast_to(tm, np.shape(f["one"])))
        out.append((t.op_class.value, t.repeat, np.broadcast_to(tc, np.shape(f["one"])),
                    np.broadcast_to(tm, np.shape(f["one"])), t.kernels * steps))
    return out


def row_terms(case: Case, stack: Stack):
    """(prefill terms or None, decode terms or None) of a case at unit efficiencies."""
    req = resolve(case.model, case.hw, case.scheme, case.batch, case.prompt, case.gen, None, None,
                  _unit(stack), None, case.depth, None, case.ubatch)
    temps, _ = templates(req.model, req.scheme)
    mach = machine(req.hw, req.stack, req.engine)
    pre = dec = None
    if req.prompt:
        starts = np.arange(0, req.prompt, req.ubatch, dtype=np.float64)
        pre = _phase_terms(req, temps, mach, req.batch, np.minimum(req.ubatch, req.prompt - starts),
                           req.depth + starts)
    if req.gen:
        dec = _phase_terms(req, temps, mach, req.batch, 1, req.depth + req.prompt + np.arange(req.gen, dtype=float))
    return pre, dec


def _time(terms, theta: np.ndarray, vector_eff: float) -> float:
    be, ce_mm, ce_att, ko = theta
    ce = {"matmul": ce_mm, "attention": ce_att, "vector": vector_eff, "gather": 1.0}
    return float(sum(rep * (np.sum(np.maximum(tc / ce[cls], tm / be)) + ko * k)
                     for cls, rep, tc, tm, k in terms))


def predicted(case: Case, terms, theta, vector_eff: float) -> float:
    pre, dec = terms
    tp = _time(pre, theta, vector_eff) if pre else 0.0
    td = _time(dec, theta, vector_eff) if dec else 0.0
    if case.kind == "pp":
        return case.batch * case.prompt / tp
    if case.kind == "tg":
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


def fit_stack(name: str, rows: list[tuple[Measured, Case]]) -> Fit:
    """Fit stack ``name`` on its rows (see the module docstring)."""
    try:
        from scipy.optimize import least_squares
    except ModuleNotFoundError:
        raise SimlowError("calibration needs SciPy (pip install 'simlow[dev]')") from None
    stack = load_stack(name)
    mine = []
    for r, c in rows:
        if c.stack != name:
            continue
        try:
            mine.append((r, c, row_terms(c, stack)))
        except SimlowError:
            continue            # a row predict refuses (validate lists it as unmapped)
    if not mine:
        raise SimlowError(f"no mapped rows for stack {name}")
    cases = [c for _, c, _ in mine]
    train_g, test_g = split_groups(cases)
    key = group_key(cases)
    terms = [t for _, _, t in mine]
    meas = np.array([r.tok_s for r, _, _ in mine])
    is_train = np.array([getattr(c, key) in train_g for c in cases])
    vec = stack.compute_efficiency["vector"]

    def resid(x):
        theta = np.concatenate([x[:3], [x[3] * 1e-6]])
        return np.array([np.log(predicted(c, t, theta, vec) / m)
                         for c, t, m, tr in zip(cases, terms, meas, is_train) if tr])

    x0 = np.array([0.7, stack.compute_efficiency["matmul"], stack.compute_efficiency["attention"], 3.0])
    lo, hi = _LO.copy(), _HI.copy()
    lo[3], hi[3] = 0.0, 50.0
    # compute efficiencies are fitted only when prefill rows constrain them
    free = np.array([True, True, True, True]) if any(c.kind != "tg" for c in cases) else \
        np.array([True, False, False, True])

    def full(xf):
        x = x0.copy()
        x[free] = xf
        return x

    sol = least_squares(lambda xf: resid(full(xf)), x0[free], bounds=(lo[free], hi[free]),
                        loss="soft_l1", f_scale=0.1)
    x = full(sol.x)
    theta = np.concatenate([x[:3], [x[3] * 1e-6]])
    errs = np.array([predicted(c, t, theta, vec) / m - 1 for c, t, m in zip(cases, terms, meas)])
    metric = np.array([c.metric for c in cases])

    def med(mask):
        return {mm: (float(np.median(np.abs(errs[mask & (metric == mm)]))) if np.any(mask & (metric == mm))
                     else None) for mm in ("decode", "prefill")}

    return Fit(name, dict(zip(PARAMS, (float(v) for v in theta))), train_g, test_g,
               int(is_train.sum()), int((~is_train).sum()), med(is_train), med(~is_train))
