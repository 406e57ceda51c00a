"""Analytical roofline over the op graph, vectorized with NumPy.

Per op instance::

    rate      = min(peak_ops[format it runs in] * compute_efficiency[op class], issue_cap[op])
    t_compute = flops / (rate * tile_fill)
    t_memory  = bytes / (bandwidth * bandwidth_efficiency[op class])
    t_op      = max(t_compute, t_memory) + launches * kernel_overhead

where ``issue_cap`` (optional, ``Machine.cap_for``) is an op rate the stack's kernels cannot
exceed whatever the format's peak, e.g. llama.cpp's MMQ matmul issuing a fixed number of
operations per SM per clock (``simlow.sim.machine``); without one the cap is infinite.

``tile_fill`` (``tile_fill``; 1 unless the machine has ``tile_rows``) is the fraction of a
tiled GEMM's work that is real: a matmul whose weight matrix sees ``M`` activation rows
(``M = flops / (2 * params)``: the tokens of a dense layer, ``tokens x top_k / distinct
experts`` of an expert matrix, the sequences of lm_head) runs in tiles of ``tile_rows`` rows,
the last one padded, so ``tile_fill = M / (tile_rows * ceil(M / tile_rows))``. A call of at
most ``GEMV_ROWS`` rows (its tokens, or sequences for lm_head) runs as a matrix-vector kernel
without row tiles: ``tile_fill = 1``. Every ceiling (peak, issue, power) applies to the padded
work. ``M`` is the mean rows per touched expert (padding of the expected count, not the
expected padding of a random count).

``launches`` (``launches``) is the template's ``kernels``, plus, for a routed-expert matmul
of at least ``EXPERT_LOOP_ROWS`` tokens on a machine with ``expert_kernels = (mmq, blas)``,
that many kernels per distinct expert touched: llama.cpp's CUDA/HIP ``ggml_cuda_mul_mat_id``,
where its batched MMQ path is not taken (AMD RDNA3/RDNA4/CDNA at 64 or more tokens,
``ggml_cuda_should_use_mmq``), copies the routing to the host and multiplies expert by
expert, each slice a matmul of its own: ``mmq`` kernels (quantize + MMQ) for a slice of
fewer than ``EXPERT_LOOP_ROWS`` rows (``M`` above), ``blas`` (dequantize weights, convert
activations, GEMM, convert output) from that many rows on.
A step is ``sum(repeat * t_op) + step_overhead``: ops run one after another (as a
single-stream inference engine issues them) and each overlaps its own loads with its own
compute, never with another op's. Every input may be a NumPy array; they broadcast, so a
whole sweep (or every decode step of a generation) is one evaluation of a few dozen array
expressions. The DES (``simlow.sim.des``) refines this with shared channels and prefetch;
it must never come out faster than this bound at the same efficiencies.

``Machine`` holds the resolved rates for one engine under one stack; ``machine(hw, stack)``
builds it from specs, a sweep builds it from arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

import numpy as np

from simlow.errors import SimlowError
from simlow.sim.results import Bound
from simlow.workload.features import features
from simlow.workload.op import BYTE_QUANTITIES, OpClass, OpTemplate


@dataclass(frozen=True)
class Machine:
    """Rates one engine achieves under one stack (scalars or broadcastable arrays).

    ``peak_for(template) -> ops/s`` gives the peak for the format the op runs in (already
    resolved through the stack's native / dequantize rules); efficiencies are per op class.
    ``cap_for(template) -> ops/s`` (optional) is an achieved-rate ceiling the op cannot
    exceed (``inf`` or ``None``: no ceiling)."""

    bandwidth_Bps: object
    peak_for: Callable[[OpTemplate], object]
    bandwidth_eff: Mapping[str, float]
    compute_eff: Mapping[str, float]
    kernel_overhead_s: object = 0.0
    step_overhead_s: object = 0.0
    format_for: Callable[[OpTemplate], str] = field(default=lambda t: t.compute)
    cap_for: Callable[[OpTemplate], object] | None = None
    tile_rows: object = None              # GEMM row tile (llama.cpp MMQ mmq_x); None: no padding
    bandwidth_rate_cap: bool = False      # bandwidth_eff caps the engine's own rate (its port),
                                          # not bus occupancy: same roofline, differs in the DES
    expert_kernels: tuple | None = None   # (MMQ, BLAS) launches per touched expert (``launches``)

    def rate_for(self, t: OpTemplate):
        """Achieved ops/s of op ``t``: ``min(peak * compute_efficiency, cap)``."""
        rate = np.asarray(self.peak_for(t), dtype=np.float64) * self.compute_eff[t.op_class.value]
        if self.cap_for is None:
            return rate
        return np.minimum(rate, np.asarray(self.cap_for(t), dtype=np.float64))


@dataclass(frozen=True)
class StepTimes:
    """Roofline times of one step (arrays broadcast over the inputs).

    ``per_op[i]`` is op ``i``'s time summed over its ``repeat`` instances; ``memory``,
    ``compute`` and ``overhead`` split the total by what bound each op (an op's time goes
    wholly to the larger of its compute and memory terms; launch costs to overhead)."""

    total_s: np.ndarray
    per_op: tuple[np.ndarray, ...]
    memory_s: np.ndarray
    compute_s: np.ndarray
    overhead_s: np.ndarray
    bytes: np.ndarray
    flops: np.ndarray
    at_peak_compute_s: np.ndarray     # sum of flops / peak: time the work needs at 100% of peak
    at_peak_memory_s: np.ndarray      # sum of bytes / peak bandwidth
    op_split: tuple[tuple[float, float, float, float, float], ...] = ()
    # per op, summed over instances and all points: (compute-bound s, memory-bound s,
    # launch s, flops, bytes)
    comm_s: object = 0.0              # collectives / handovers between devices (``with_comm``)
    work_s: object = None             # device-group seconds of work summed over a pipeline's
                                      # stages (``simlow.sim.pipeline``); None: ``total_s``

    @property
    def utilization(self) -> np.ndarray:
        """The busier resource's achieved fraction of its peak over the step (0..1)."""
        return np.clip(np.maximum(self.at_peak_compute_s, self.at_peak_memory_s) / self.total_s, 0.0, 1.0)


# llama.cpp runs a matmul of at most this many activation rows as a matrix-vector kernel
# (ggml-cuda mmvq.cuh: MMVQ_MAX_BATCH_SIZE 8, "max. batch size for which to use MMVQ kernels")
GEMV_ROWS = 8


def tile_fill(t: OpTemplate, f: Mapping[str, np.ndarray], tile_rows):
    """Fraction of a tiled GEMM's row work that is real (module docstring); 1 for ops other
    than weight matmuls, for matrix-vector calls and when ``tile_rows`` is None."""
    if tile_rows is None or t.op_class is not OpClass.MATMUL or "params" not in t.coef:
        return 1.0
    flops, params = t.value("flops", f), t.value("params", f)
    per = next(iter(t.coef["flops"]))
    rows = np.maximum(np.asarray(flops, dtype=np.float64) / np.maximum(2.0 * np.asarray(params, dtype=np.float64),
                                                                       1e-300), 1e-9)
    tile = np.asarray(tile_rows, dtype=np.float64)
    fill = rows / (tile * np.ceil(rows / tile))
    return np.where(np.asarray(f[per]) <= GEMV_ROWS, 1.0, fill)


# ggml-cuda mmq.cuh MMQ_DP4A_MAX_BATCH_SIZE: on AMD RDNA3/RDNA4/CDNA, ggml_cuda_should_use_mmq
# takes MMQ for fewer activation rows only, so mul_mat_id of this many tokens or more loops over
# the experts (ggml-cuda.cu ggml_cuda_mul_mat_id)
EXPERT_LOOP_ROWS = 64


def launches(t: OpTemplate, f: Mapping[str, np.ndarray], m: Machine):
    """Kernel launches of one instance of ``t`` (module docstring): ``kernels``, plus per
    distinct expert ``expert_kernels[0]`` (a slice of fewer than ``EXPERT_LOOP_ROWS`` rows) or
    ``[1]`` for a routed-expert matmul of at least ``EXPERT_LOOP_ROWS`` tokens."""
    if m.expert_kernels is None or not t.expert or t.op_class is not OpClass.MATMUL:
        return t.kernels
    per = next(iter(t.coef["flops"]))
    loop = np.asarray(f[per], dtype=np.float64) >= EXPERT_LOOP_ROWS
    rows = np.asarray(t.value("flops", f), dtype=np.float64) / np.maximum(
        2.0 * np.asarray(t.value("params", f), dtype=np.float64), 1e-300)
    mmq, blas = (np.asarray(k, dtype=np.float64) for k in m.expert_kernels)
    per_expert = np.where(rows < EXPERT_LOOP_ROWS, mmq, blas)
    return t.kernels + np.where(loop, per_expert * f["experts"], 0.0)


def op_terms(t: OpTemplate, f: Mapping[str, np.ndarray], m: Machine, weight_bits=None):
    """(flops, bytes, t_compute, t_memory) of one instance of ``t`` (``t_compute`` counts the
    padded work of a tiled GEMM, ``tile_fill``).

    ``weight_bits`` (optional, array) re-prices weight bytes at ``params * bits / 8``
    (scales and padding then count as part of the bits), for sweeps over bits."""
    flops = t.value("flops", f)
    nbytes = sum(t.value(q, f) for q in BYTE_QUANTITIES if q != "weight_read")
    if weight_bits is not None and "params" in t.coef:
        nbytes = nbytes + t.value("params", f) * np.asarray(weight_bits, dtype=np.float64) / 8.0
    else:
        nbytes = nbytes + t.value("weight_read", f)
    cls = t.op_class.value
    t_comp = flops / (m.rate_for(t) * tile_fill(t, f, m.tile_rows)) if np.any(flops) else 0.0 * flops
    t_mem = nbytes / (np.asarray(m.bandwidth_Bps, dtype=np.float64) * m.bandwidth_eff[cls])
    return flops, nbytes, t_comp, t_mem


def step(templates: tuple[OpTemplate, ...], m: Machine, batch, tokens, context,
         distinct_experts=None, weight_bits=None) -> StepTimes:
    """Roofline time of one forward step (see the module docstring)."""
    per_op, split = [], []
    total = mem = comp = over = nbytes = nflops = ideal_c = ideal_m = 0.0
    for t in templates:
        f = features(t, batch, tokens, context, distinct_experts)
        fl, by, tc, tm = op_terms(t, f, m, weight_bits)
        launch = launches(t, f, m) * np.asarray(m.kernel_overhead_s, dtype=np.float64)
        t_op = np.broadcast_to(t.repeat * (np.maximum(tc, tm) + launch), np.broadcast_shapes(
            np.shape(f["one"]), np.shape(launch), np.shape(tm)))
        per_op.append(t_op)
        total = total + t_op
        op_mem = t.repeat * np.where(tm >= tc, tm, 0.0)
        op_comp = t.repeat * np.where(tm >= tc, 0.0, tc)
        mem, comp, over = mem + op_mem, comp + op_comp, over + t.repeat * launch
        split.append(tuple(float(np.sum(np.broadcast_to(x, np.shape(t_op))))
                           for x in (op_comp, op_mem, t.repeat * launch, t.repeat * fl, t.repeat * by)))
        nbytes = nbytes + t.repeat * by
        nflops = nflops + t.repeat * fl
        ideal_c = ideal_c + t.repeat * (fl / np.asarray(m.peak_for(t), dtype=np.float64) if np.any(fl) else 0.0 * fl)
        ideal_m = ideal_m + t.repeat * tm * m.bandwidth_eff[t.op_class.value]
    step_over = np.asarray(m.step_overhead_s, dtype=np.float64)
    return StepTimes(total + step_over, tuple(per_op), mem, comp, over + step_over, nbytes, nflops,
                     ideal_c, ideal_m, tuple(split))


def with_comm(times: StepTimes, comm_s) -> StepTimes:
    """``times`` with ``comm_s`` seconds of inter-device communication added to each step
    (not overlapped with the ops: a tensor-parallel all-reduce waits for the op before it
    and the next op waits for it; ``simlow.sim.parallel``)."""
    comm = np.broadcast_to(np.asarray(comm_s, dtype=np.float64), np.shape(times.total_s))
    return replace(times, total_s=times.total_s + comm, comm_s=comm)


# The order shares are compared in (the first of equal shares wins).
BOUND_ORDER = (Bound.MEMORY, Bound.COMPUTE, Bound.OVERHEAD, Bound.LINK)


def _shares(times: StepTimes) -> np.ndarray:
    return np.stack(np.broadcast_arrays(times.memory_s, times.compute_s, times.overhead_s, times.comm_s))


def bound_of(times: StepTimes) -> np.ndarray:
    """What limits each step (``Bound`` values as an array of text, for vectorized sweeps):
    ``memory``, ``compute``, ``overhead`` or ``link`` (inter-device communication), the
    largest share."""
    return np.array([b.value for b in BOUND_ORDER])[np.argmax(_shares(times), axis=0)]


def phase_bound(times: StepTimes) -> Bound:
    """What limits a whole phase: the largest share summed over its steps."""
    sums = [np.sum(x) for x in (times.memory_s, times.compute_s, times.overhead_s, times.comm_s)]
    return BOUND_ORDER[int(np.argmax(sums))]


def decode_steps(templates, m: Machine, batch: int, start: int, gen: int, distinct_experts=None) -> StepTimes:
    """All ``gen`` decode steps at contexts ``start, start+1, ...`` in one evaluation
    (arrays of length ``gen``)."""
    if gen < 1:
        raise SimlowError(f"decode needs at least 1 generated token, got {gen}")
    ctx = start + np.arange(gen, dtype=np.float64)
    return step(templates, m, batch, 1, ctx, distinct_experts)
