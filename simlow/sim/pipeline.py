"""Pipeline parallel as vLLM runs it (``--pipeline-parallel-size N``, with ``--tp`` inside each stage).

Stages: the layers are cut into ``pp`` stages as vLLM's ``get_pp_indices`` does
(vllm/distributed/utils.py: ``L // pp`` layers each, the remainder one more each to the stages
before the last, from the second-last backwards; ``pp_layer_counts``). The embedding runs on
the first stage, the final norm and lm_head on the last. Each stage is a tensor-parallel group
of ``tp`` devices (``simlow.sim.parallel``: its all-reduces are those of its own layers).

Transfers: a stage hands the next one the hidden state and the residual (vLLM's
``IntermediateTensors({"hidden_states", "residual"})`` of Llama-style models, sent with
``send_tensor_dict`` over NCCL): ``tokens x hidden x 2`` values in the model dtype (16-bit,
``STAGE_BYTES``), one point-to-point copy of ``latency + bytes / link bandwidth``
(``parallel.handover_s``: the hwspec link's latency, else the assumed 10 us).

Scheduling: vLLM (V0 engine) keeps ``pp`` virtual engines, each a scheduler with its own
sequences (a new request goes to the one with the fewest unfinished), and runs them
concurrently, so a batch of B sequences moves through the pipeline as ``m = min(pp, B)``
micro-batches of ``B/m`` (``micro_batches``; the first ``B mod m`` one larger). One step of
every sequence (a decode token, or a prefill chunk of ``ubatch`` tokens) then takes, for a
micro-batch ``k`` of stage times ``t[k][s]`` and transfer time ``h[k]``::

    round = max( max_k  sum_s t[k][s] + (pp - 1) h[k],      # a micro-batch's own passage
                 max_s  sum_k t[k][s] )                      # the busiest stage

(a micro-batch's next step waits for its previous one to leave the last stage; a stage runs
one micro-batch at a time). At batch 1 that is the sum of the stage times plus ``pp - 1``
transfers: no speed-up, only capacity. With ``pp`` micro-batches a memory-bound decode reads
every stage's weights once per micro-batch, so it gains little until the micro-batches are
compute-bound. A stage's time is its share of each op's roofline time at the micro-batch
size (an op of several layers split by how many of them the stage holds); the stack's step
overhead is counted once per micro-batch, on the first stage (the driver schedules).

The DES (``simlow.sim.des.plan``) runs one micro-batch (batch 1) only: the stages in series
with the sends after the layers. The phase's ``StepTimes`` carry the round as ``total_s``; the ops' and the communication's
shares of it are their work scaled by ``round / work`` (exact at one micro-batch), and
``work_s`` is the busy seconds summed over the stages (``parallel.group_energy``: a stage
idle while another works draws idle power). Not modelled: the sampled tokens' return to the
first stage, vLLM's ``all_gather_group`` send under TP (each TP rank sends 1/tp of the tensor
and the next stage all-gathers it; here every rank sends all of it over its own link), TensorRT-LLM's own micro-batch scheduler (assumed the same as vLLM's), and
imbalance from the embedding / lm_head beyond their roofline time.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from simlow.sim.parallel import COMM_BYTES, Parallel, PeerLink, allreduce_s, handover_s, pp_layer_counts
from simlow.sim.phases import decode_times, prefill_times
from simlow.sim.roofline import StepTimes

STAGE_VALUES = 2   # values per token and hidden unit a stage sends: the hidden state and the residual
STAGE_BYTES = 2    # bytes per value (fp16 / bf16, the model dtype vLLM runs in)


def micro_batches(batch: int, pp: int) -> tuple[int, ...]:
    """Sequences per micro-batch (vLLM's virtual engines, module docstring)."""
    m = min(batch, pp)
    q, r = divmod(batch, m)
    return tuple(q + (k < r) for k in range(m))


def stage_fractions(temps, counts: tuple[int, ...]) -> np.ndarray:
    """``F[i, s]``: the fraction of op ``i``'s time that stage ``s`` runs (its share of the
    op's layers; the ops before the layers on the first stage, those after on the last)."""
    bounds = np.cumsum((0,) + counts)
    out = np.zeros((len(temps), len(counts)))
    seen_layers = False
    for i, t in enumerate(temps):
        if t.layers:
            seen_layers = True
            stage = np.searchsorted(bounds, np.asarray(t.layers), side="right") - 1
            out[i] = np.bincount(stage, minlength=len(counts)) / len(t.layers)
        else:
            out[i, -1 if seen_layers else 0] = 1.0
    return out


def stage_transfer_s(model, link: PeerLink, rows):
    """Seconds of one stage-to-stage send of ``rows`` tokens (module docstring)."""
    return handover_s(np.asarray(rows, dtype=np.float64) * model.hidden_size * STAGE_VALUES * STAGE_BYTES, link)


def stage_sends_s(req, link: PeerLink, prefill: bool):
    """Per step of the request's prefill (its chunks) or decode, the seconds of the ``pp - 1``
    sends of a batch that runs as one micro-batch (batch 1)."""
    rows = np.minimum(req.ubatch, req.prompt - np.arange(0, req.prompt, req.ubatch, dtype=np.float64)) \
        if prefill else 1.0
    return (req.parallel.pp - 1) * stage_transfer_s(req.model, link, req.batch * rows)


def pipeline_round(par: Parallel, model, link: PeerLink, temps, times: list[StepTimes], rows: list,
                   step_overhead_s: float) -> StepTimes:
    """The ``StepTimes`` of one round of the micro-batches whose roofline times (on one
    stage group's machine, no communication) are ``times`` and tokens per step ``rows``."""
    counts = pp_layer_counts(model.layers, par.pp)
    frac = stage_fractions(temps, counts)
    share = np.asarray(counts, dtype=np.float64)
    chains, busy, work = [], 0.0, 0.0
    for t, r in zip(times, rows):
        ops = np.stack(np.broadcast_arrays(*t.per_op))                    # (ops, steps...)
        ar = 2 * allreduce_s(np.asarray(r, dtype=np.float64) * model.hidden_size * COMM_BYTES, par.tp, link)
        ar = np.broadcast_to(ar, ops.shape[1:])
        stage = np.tensordot(frac, ops, axes=(0, 0)) + np.multiply.outer(share, ar)   # (stages, steps...)
        stage[0] = stage[0] + step_overhead_s
        hop = (par.pp - 1) * stage_transfer_s(model, link, r)
        chains.append(np.sum(stage, axis=0) + hop)
        busy = busy + stage
        work = work + np.sum(stage, axis=0) + hop
    wall = np.maximum(np.max(np.stack(np.broadcast_arrays(*chains)), axis=0), np.max(busy, axis=0))
    g = wall / work       # 1 at one micro-batch; below 1 where the stages overlap

    def total(field):
        return sum(getattr(t, field) for t in times)

    ops_s = total("total_s") + len(times) * step_overhead_s
    per_op = tuple(g * sum(t.per_op[i] for t in times) for i in range(len(temps)))
    op_split = tuple(tuple(sum(t.op_split[i][j] for t in times) for j in range(5)) for i in range(len(temps)))
    return StepTimes(wall, per_op, g * total("memory_s"), g * total("compute_s"),
                     g * (total("overhead_s") + len(times) * step_overhead_s), total("bytes"), total("flops"),
                     total("at_peak_compute_s") / par.pp, total("at_peak_memory_s") / par.pp, op_split,
                     g * (work - ops_s), np.sum(busy, axis=0))


def pipeline_phases(req, temps, run, par: Parallel, link: PeerLink) -> tuple[StepTimes | None, StepTimes | None]:
    """Prefill and decode of ``req`` on ``par.pp`` stages of ``par.tp`` devices (``run``:
    one stage group's machine, ``parallel.group_machine``)."""
    sizes = micro_batches(req.batch, par.pp)
    step_over = float(np.asarray(run.step_overhead_s))
    one = replace(run, step_overhead_s=0.0)
    pre = dec = None
    if req.prompt:
        starts = np.arange(0, req.prompt, req.ubatch, dtype=np.float64)
        chunk = np.minimum(req.ubatch, req.prompt - starts)
        pre = pipeline_round(par, req.model, link, temps, [prefill_times(replace(req, batch=b), temps, one)
                                                            for b in sizes], [b * chunk for b in sizes], step_over)
    if req.gen:
        dec = pipeline_round(par, req.model, link, temps, [decode_times(replace(req, batch=b), temps, one)
                                                            for b in sizes], [float(b) for b in sizes], step_over)
    return pre, dec
