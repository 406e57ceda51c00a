"""llama.cpp's row split (``-sm row -ts R1,R2,...``): every matmul's weight rows spread over the devices.

What llama.cpp does (ggml-org/llama.cpp, src/llama-model.cpp ``make_gpu_buft_list`` and
``load_tensors``; ggml/src/ggml-cuda/ggml-cuda.cu ``ggml_cuda_op_mul_mat``):

- Layers are assigned to devices by the same ratios as a layer split (``layer_counts``); a
  layer's device (its *main* device) holds its norms, its KV cache and runs everything but
  the 2-D matmuls. Its matmul weights sit in the CUDA split buffer: device ``i`` holds rows
  ``[R_0..i-1, R_0..i) x ne01`` (output channels; 3-D expert tensors are not split and stay
  on the layer's device, ``GGML_ASSERT(!(split && ne02 > 1))``). lm_head is split the same
  way, its main device the last.
- Per matmul, the main device quantizes the activations to q8_1 (36 bytes per 32 values;
  float weights take f32 activations: ``SRC1_BYTES``) and peer-copies them to every other
  device that holds rows (``cudaMemcpyPeerAsync``); each device multiplies its rows; each
  other device copies its slice of the f32 result back to the main device
  (``ggml_cuda_Memcpy2DPeerAsync``), which waits on their events.
- Each device's kernels are launched from the one host thread, device after device.

So one matmul of ``T`` activation rows, ``K`` inputs and ``M`` outputs costs (roofline, identical
devices, the transfers not overlapped with the compute)::

    t = max_i(R_i) x t_op(one device)  +  n_used x launches x kernel_overhead
        + 2 x latency + ((n_used - 1) x T x K x src1_bytes + (1 - R_main) x T x M x 4) / link bandwidth

(the latency is the hwspec link's, else the assumed 10 us of ``parallel.HANDOVER_LATENCY_S``),
and each boundary between consecutive layers on different devices hands the hidden state over
as a layer split does. Everything else (attention, norms, the embedding) runs at one device's
speed. At batch 1 on PCIe the latencies of ~7 matmuls per layer weigh against halving the
weight reads. Not modelled: the columns of a prefill step split in chunks of 128
(``MUL_MAT_SRC1_COL_STRIDE``) on several streams (the bytes are the same; the latency is counted
once per matmul), peer access being turned off above 128 tokens
(``GGML_CUDA_PEER_MAX_BATCH_SIZE``: copies then staged through the host), and llama.cpp
turning CUDA graphs off for split buffers (a stack's kernel overhead is what it was fitted as).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from simlow import formats
from simlow.sim.parallel import (HANDOVER_BYTES, Parallel, PeerLink, group_machine, handover_s, layer_counts,
                                 split_boundaries, split_device)
from simlow.sim.phases import decode_times, prefill_times
from simlow.sim.roofline import StepTimes
from simlow.workload.op import VALUE_BYTES, OpClass

Q8_1_BYTES = 36 / 32   # bytes per activation of a q8_1 block (32 int8 + fp16 scale + fp16 sum)
F32_BYTES = 4          # f32 activations (weights in a float format) and f32 results
FLOAT_COMPUTE = ("fp32", "fp16", "bf16")   # weight formats whose matmul takes f32 activations


def is_row_split(t) -> bool:
    """A matmul whose weight rows a row split spreads (2-D weights, not routed experts)."""
    return t.op_class is OpClass.MATMUL and not t.expert and bool(t.weight_format)


def src1_bytes(t) -> float:
    """Bytes per activation value the main device copies to the others for matmul ``t``."""
    return F32_BYTES if formats.get(t.weight_format).compute in FLOAT_COMPUTE else Q8_1_BYTES


def ratios_of(par: Parallel) -> np.ndarray:
    return np.asarray(par.split, dtype=np.float64) / float(sum(par.split))


def layer_devices(layers: int, par: Parallel) -> np.ndarray:
    """The main device of each layer (llama.cpp's layer assignment by ``-ts``, ``layer_counts``)."""
    return np.repeat(np.arange(len(par.split)), layer_counts(layers, par.split))


def matmul_copy_bytes(t, par: Parallel, act_bytes: float, homes: np.ndarray, out: int) -> tuple[float, float]:
    """(bytes to the other devices, bytes back to the main devices) per activation row of
    one step of ``t``, summed over its instances (module docstring)."""
    r = ratios_of(par)
    others = int(np.count_nonzero(r)) - 1
    per = next(iter(t.coef["flops"]))
    k_vals = t.coef["act_read"][per] / act_bytes
    m_vals = t.coef["act_write"][per] / act_bytes
    mains = homes[list(t.layers)] if t.layers else np.array([out])
    back = float(np.sum(1.0 - r[mains])) * m_vals * F32_BYTES
    return len(mains) * others * k_vals * src1_bytes(t), back


def row_comm_s(par: Parallel, req, temps, link: PeerLink, batch, tokens):
    """Communication seconds of one step of ``batch`` x ``tokens``: every split matmul's
    copies and latencies, plus the hidden-state handovers between layers' devices."""
    act = VALUE_BYTES[req.scheme.activations]
    homes = layer_devices(req.model.layers, par)
    out = split_device(req.model.layers, req.model.layers, par.split)
    lat = handover_s(0.0, link)
    rows = np.asarray(batch, dtype=np.float64) * np.asarray(tokens, dtype=np.float64)
    total = 0.0 * rows
    n_used = int(np.count_nonzero(ratios_of(par)))
    for t in temps:
        if not is_row_split(t) or n_used < 2:
            continue
        per = next(iter(t.coef["flops"]))
        r = rows if per == "tokens" else np.asarray(batch, dtype=np.float64) + 0.0 * rows
        to, back = matmul_copy_bytes(t, par, act, homes, out)
        total = total + 2 * lat * t.repeat + r * (to + back) / link.bandwidth_Bps
    hop = handover_s(rows * req.model.hidden_size * HANDOVER_BYTES, link)
    return total + split_boundaries(req.model.layers, par.split) * hop


def row_machine(mach, par: Parallel):
    """The machine a split matmul sees: the largest share of its work on one device
    (``group_machine`` by ``1 / max share``), each launch issued once per device in use."""
    r = ratios_of(par)
    m = group_machine(mach, 1.0 / float(np.max(r)))
    return replace(m, kernel_overhead_s=int(np.count_nonzero(r)) * np.asarray(mach.kernel_overhead_s),
                   step_overhead_s=0.0)


def merge(temps, parts) -> StepTimes:
    """One ``StepTimes`` from ``(indices into temps, StepTimes of those templates)`` parts."""
    per_op, split = [None] * len(temps), [None] * len(temps)
    for idx, t in parts:
        for j, i in enumerate(idx):
            per_op[i], split[i] = t.per_op[j], t.op_split[j]
    times = [t for _, t in parts]

    def total(field):
        return sum(getattr(t, field) for t in times)

    return StepTimes(total("total_s"), tuple(per_op), total("memory_s"), total("compute_s"), total("overhead_s"),
                     total("bytes"), total("flops"), total("at_peak_compute_s"), total("at_peak_memory_s"),
                     tuple(split))


def row_phases(req, temps, mach, par: Parallel, link: PeerLink) -> tuple[StepTimes | None, StepTimes | None]:
    """Prefill and decode of ``req`` in a row split, communication included (``comm_s``)."""
    rows = [i for i, t in enumerate(temps) if is_row_split(t)]
    rest = [i for i in range(len(temps)) if i not in set(rows)]
    split_m = row_machine(mach, par)
    out = []
    for times_of, tokens in ((prefill_times, None), (decode_times, 1.0)):
        a = times_of(req, tuple(temps[i] for i in rows), split_m)
        if a is None:
            out.append(None)
            continue
        t = merge(temps, [(rows, a), (rest, times_of(req, tuple(temps[i] for i in rest), mach))])
        if tokens is None:
            starts = np.arange(0, req.prompt, req.ubatch, dtype=np.float64)
            tokens = np.minimum(req.ubatch, req.prompt - starts)
        comm = np.broadcast_to(row_comm_s(par, req, temps, link, req.batch, tokens), np.shape(t.total_s))
        out.append(replace(t, total_s=t.total_s + comm, comm_s=comm))
    return out[0], out[1]
