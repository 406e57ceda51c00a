"""Several identical devices serving one model: tensor parallel and llama.cpp's layer split.

``Parallel`` says how a request is spread (one of the two; ``None`` is one device):

- **tensor parallel** (``tp=N``; vLLM, TensorRT-LLM, LMDeploy TurboMind): every weight matrix
  is cut into N column / row shards, so each device holds 1/N of the weights and of the KV
  heads (all of a head's cache when there are fewer KV heads than devices: the heads are then
  replicated) and does 1/N of every op's FLOPs and bytes at the same time as the others. Each
  layer ends its attention and its FFN with an all-reduce of the activations (Megatron-LM,
  Shoeybi et al. 2019, arXiv:1909.08053 sec. 3: two all-reduces per layer in the forward pass)
  of ``batch x tokens x hidden`` values in 16-bit (``COMM_BYTES``). The roofline runs the
  group as one device with N x the peak rates and N x the bandwidth (``group_machine``); the
  launch and step overheads stay those of one device (every device launches every kernel).
  Norms are counted as split too (they are replicated in practice; a few KiB).
- **layer split** (``split=(3, 1)``: llama.cpp ``-sm layer -ts 3,1``): whole layers go to the
  devices by ratio (``layer_counts``, llama.cpp's rule), the devices run one after another for
  a single stream, and each boundary hands the activations (``batch x tokens x hidden`` in
  float32, ggml's activation type) to the next device once per step. With identical devices
  the compute time is that of one device; the split buys memory. The embedding and lm_head
  are held by the last device (llama.cpp keeps the token embedding in host memory and the
  output layer on the last device; simlow counts both on the device, as for one device).

Collectives (``allreduce_s``) follow NCCL's own cost model for a ring all-reduce inside one
node (NVIDIA/nccl, src/graph/tuning.cc, ``ncclTunerConstantsDefaults`` and
``ncclTopoTuneModel``, commit 5067397): ``latency = base + 2(N-1) x per-step latency`` and
``time = latency + bytes / bus bandwidth`` with ``bus bandwidth = link bandwidth x N /
(2(N-1))`` (the ring moves ``2(N-1)/N`` of the buffer over every link); NCCL picks the
fastest protocol, here LL (base 6.6 us, 0.6 us per step on NVLink, 1.0 us on PCIe, half the
bus bandwidth: its 8-byte lines carry 4 bytes of data and 4 of flags) or Simple (base 8.4 us,
3.4 us / 5.7 us per step, the full bandwidth). The link is the device's peer link in its
hwspec (a ``links:`` entry joining its memory to itself: NVLink to the same memory of a peer
device) or, with ``LinkKind.PCIE``, its host PCIe link.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

import numpy as np

from simlow.errors import SimlowError
from simlow.memory import Footprint
from simlow.specs import HardwareSpec, ModelSpec
from simlow.sim import energy
from simlow.sim.power import DevicePower
from simlow.sim.roofline import Machine, StepTimes, with_comm

COMM_BYTES = 2     # bytes per activation an all-reduce moves (fp16 / bf16, as TP engines reduce them)
HANDOVER_BYTES = 4  # bytes per activation a layer-split boundary copies (ggml's float32 activations)
# A layer-split handover is a device-to-device copy plus the scheduler's sync between the two
# devices' graph splits: assumed 10 us (a cudaMemcpyPeerAsync of a small buffer and an event
# wait; not measured here) unless the hwspec's link gives a latency.
HANDOVER_LATENCY_S = 10e-6
LAYER_GROUPS = ("attention", "ffn", "experts", "norm")   # weight parts that live in the layers


class LinkKind(enum.StrEnum):
    """Which link the devices talk over."""
    NVLINK = "nvlink"   # the hwspec's peer link (NVLink / NVSwitch)
    PCIE = "pcie"       # the hwspec's host link (PCIe, peer-to-peer through the root complex)


@dataclass(frozen=True)
class Protocol:
    """One NCCL protocol's ring costs (tuning.cc): base latency, latency per ring step by
    link kind, and the fraction of the bus bandwidth it reaches."""
    name: str
    base_s: float
    step_s: dict
    bandwidth_fraction: float


NCCL_RING = (
    Protocol("LL", 6.6e-6, {LinkKind.NVLINK: 0.6e-6, LinkKind.PCIE: 1.0e-6}, 0.5),
    Protocol("Simple", 8.4e-6, {LinkKind.NVLINK: 3.4e-6, LinkKind.PCIE: 5.7e-6}, 1.0),
)


@dataclass(frozen=True)
class PeerLink:
    """The link between two devices of a group: its kind, per-direction bandwidth and the
    hwspec entry it came from."""
    kind: LinkKind
    bandwidth_Bps: float
    name: str
    latency_s: float | None = None


class SplitMode(enum.StrEnum):
    """How llama.cpp splits a model over its devices (``-sm``)."""
    LAYER = "layer"     # whole layers per device, run one after another
    ROW = "row"         # every matmul's weight rows spread over the devices (simlow.sim.rowsplit)


@dataclass(frozen=True)
class Parallel:
    """How a request is spread over identical devices: ``tp`` devices in tensor parallel
    times ``pp`` pipeline stages (vLLM / TensorRT-LLM; ``simlow.sim.pipeline``), or a
    llama.cpp split by ``split`` ratios (one device per ratio) in ``mode``, over ``link``."""
    tp: int = 1
    split: tuple[float, ...] = ()
    link: LinkKind = LinkKind.NVLINK
    pp: int = 1
    mode: SplitMode = SplitMode.LAYER

    def __post_init__(self) -> None:
        object.__setattr__(self, "link", _link_kind(self.link))
        object.__setattr__(self, "mode", SplitMode(self.mode))
        for name in ("tp", "pp"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise SimlowError(f"{name} must be a whole number >= 1, got {v!r}")
        if self.split and (len(self.split) < 2 or any(not r >= 0 for r in self.split) or not sum(self.split) > 0):
            raise SimlowError(f"a {self.mode} split needs two or more ratios >= 0 with a positive sum, got {self.split!r}")
        if self.split and (self.tp > 1 or self.pp > 1):
            raise SimlowError("give tensor / pipeline parallel (tp, pp: vLLM, TensorRT-LLM) or a llama.cpp split, "
                              "not both")

    @property
    def devices(self) -> int:
        return len(self.split) if self.split else self.tp * self.pp

    @property
    def row(self) -> bool:
        """A llama.cpp row split (``-sm row``)."""
        return bool(self.split) and self.mode is SplitMode.ROW

    def describe(self) -> str:
        if self.split:
            return f"{self.mode} split {':'.join(f'{r:g}' for r in self.split)} over {self.devices} devices ({self.link})"
        if self.pp > 1:
            tp = f"tensor parallel {self.tp} x " if self.tp > 1 else ""
            return f"{tp}pipeline parallel {self.pp} over {self.devices} devices ({self.link})"
        return f"tensor parallel over {self.tp} devices ({self.link})"


def _link_kind(value) -> LinkKind:
    try:
        return LinkKind(value)
    except ValueError:
        raise SimlowError(f"unknown link {value!r} (valid: {', '.join(k.value for k in LinkKind)})") from None


def parse_split(text: str) -> tuple[SplitMode, tuple[float, ...]]:
    """``"layer:3,1"`` -> (LAYER, (3.0, 1.0)) (llama.cpp ``-sm layer -ts 3,1``); ``"row:1,1"``
    -> (ROW, (1.0, 1.0)) (``-sm row -ts 1,1``)."""
    mode, _, ratios = text.partition(":")
    if mode not in tuple(SplitMode) or not ratios:
        raise SimlowError(f"--split {text!r}: expected layer:R1,R2[,...] or row:R1,R2[,...] (e.g. layer:3,1)")
    try:
        return SplitMode(mode), tuple(float(r) for r in ratios.split(","))
    except ValueError:
        raise SimlowError(f"--split {text!r}: ratios must be numbers, got {ratios!r}") from None


def parallel_from(tp: int | None = None, split: str | tuple | None = None, link: str | LinkKind = "nvlink",
                  pp: int | None = None) -> Parallel | None:
    """The ``Parallel`` a request names, or None for one device (tp 1, pp 1 and no split).
    ``split`` is ``"layer:3,1"`` / ``"row:1,1"`` text or a tuple of layer-split ratios."""
    mode, ratios = parse_split(split) if isinstance(split, str) else (SplitMode.LAYER, tuple(split or ()))
    par = Parallel(1 if tp is None else tp, ratios, link, 1 if pp is None else pp, mode)
    return None if par.devices == 1 else par


def peer_link(hw: HardwareSpec, kind: LinkKind) -> PeerLink:
    """The link ``kind`` between two ``hw`` devices, from the hwspec's ``links:``."""
    main = hw.main_memory.name
    if kind is LinkKind.NVLINK:
        link = next((x for x in hw.links if x.between == (main, main)), None)
        if link is None:
            raise SimlowError(f"{hw.name}: no peer link in hwspecs/{hw.name}.yaml (links: an entry between "
                              f"[{main}, {main}], e.g. NVLink); give link pcie to go over PCIe")
    else:
        link = next((x for x in hw.links if main in x.between and x.between != (main, main)), None)
        if link is None:
            raise SimlowError(f"{hw.name}: no PCIe link in hwspecs/{hw.name}.yaml (links: an entry between "
                              f"{main} and host)")
    return PeerLink(kind, link.bandwidth_Bps, link.name, link.latency_s)


def allreduce_s(nbytes, n: int, link: PeerLink):
    """Seconds of an NCCL ring all-reduce of ``nbytes`` over ``n`` devices (module
    docstring); 0 for one device. ``nbytes`` may be an array."""
    nbytes = np.asarray(nbytes, dtype=np.float64)
    if n == 1:
        return 0.0 * nbytes
    return np.minimum(*[lat + wire / (link.bandwidth_Bps * frac)
                        for lat, wire, frac in (ring_terms(p, nbytes, n, link) for p in NCCL_RING)])


def ring_terms(p: Protocol, nbytes, n: int, link: PeerLink):
    """(latency s, bytes each link carries, bandwidth fraction) of a ring all-reduce of
    ``nbytes`` over ``n`` devices in protocol ``p``: ``2(N-1)/N`` of the buffer per link."""
    steps = 2 * (n - 1)
    return p.base_s + steps * p.step_s[link.kind], nbytes * steps / n, p.bandwidth_fraction


def allreduce_plan(nbytes: float, n: int, link: PeerLink) -> tuple[float, float, float]:
    """``ring_terms`` of the protocol NCCL's tuner would pick (the fastest) for one buffer."""
    return min((ring_terms(p, nbytes, n, link) for p in NCCL_RING),
               key=lambda x: x[0] + x[1] / (link.bandwidth_Bps * x[2]))


def handover_s(nbytes, link: PeerLink):
    """Seconds to hand ``nbytes`` of activations to the next device of a layer split."""
    lat = link.latency_s if link.latency_s is not None else HANDOVER_LATENCY_S
    return lat + np.asarray(nbytes, dtype=np.float64) / link.bandwidth_Bps


def step_comm_s(par: Parallel, model: ModelSpec, link: PeerLink, batch, tokens):
    """Communication seconds of one forward step of ``batch`` x ``tokens`` tokens."""
    values = np.asarray(batch, dtype=np.float64) * np.asarray(tokens, dtype=np.float64) * model.hidden_size
    if par.split:
        return split_boundaries(model.layers, par.split) * handover_s(values * HANDOVER_BYTES, link)
    return 2 * model.layers * allreduce_s(values * COMM_BYTES, par.tp, link)


def phases_with_comm(par: Parallel, model: ModelSpec, link: PeerLink, batch: int, prompt: int, ubatch: int,
                     pre: StepTimes | None, dec: StepTimes | None) -> tuple[StepTimes | None, StepTimes | None]:
    """A request's prefill steps (``ubatch`` prompt tokens each) and decode steps (one token
    each) with the group's communication added (``step_comm_s``)."""
    if pre is not None:
        starts = np.arange(0, prompt, ubatch, dtype=np.float64)
        pre = with_comm(pre, step_comm_s(par, model, link, batch, np.minimum(ubatch, prompt - starts)))
    if dec is not None:
        dec = with_comm(dec, step_comm_s(par, model, link, batch, 1))
    return pre, dec


def group_power(dev: DevicePower, n: int) -> DevicePower:
    """The power of ``n`` tensor-parallel boards as one: n x the idle, active and capped
    power; joules per byte and per op unchanged (each byte and op is one board's)."""
    return replace(dev, idle_w=n * dev.idle_w, cap_w=n * dev.cap_w, active_w=n * dev.active_w)


def group_machine(m: Machine, n: int) -> Machine:
    """``n`` tensor-parallel devices as one: each op's FLOPs and bytes split n ways, so
    n x the peak, cap and bandwidth; launch and step overheads those of one device."""
    if n == 1:
        return m
    cap = None if m.cap_for is None else (lambda t: n * np.asarray(m.cap_for(t), dtype=np.float64))
    return replace(m, bandwidth_Bps=n * np.asarray(m.bandwidth_Bps, dtype=np.float64),
                   peak_for=lambda t: n * np.asarray(m.peak_for(t), dtype=np.float64), cap_for=cap)


def split_device(i: int, layers: int, ratios: tuple[float, ...]) -> int:
    """The device of layer ``i`` of a llama.cpp split (``i = layers``: the output layer):
    the first whose cumulative share exceeds ``i / (layers + 1)`` (llama-model.cpp
    ``load_tensors``: ``upper_bound(splits, il / act_gpu_layers)`` with ``act_gpu_layers =
    n_layer + 1`` when every layer is offloaded, the output counted as a layer)."""
    cum = np.cumsum(np.asarray(ratios, dtype=np.float64)) / float(sum(ratios))
    return min(int(np.searchsorted(cum, i / (layers + 1), side="right")), len(ratios) - 1)


def layer_counts(layers: int, ratios: tuple[float, ...]) -> tuple[int, ...]:
    """Layers per device of a llama.cpp split (``split_device``)."""
    counts = [0] * len(ratios)
    for i in range(layers):
        counts[split_device(i, layers, ratios)] += 1
    return tuple(counts)


def split_boundaries(layers: int, ratios: tuple[float, ...]) -> int:
    """Handovers per step of a llama.cpp split: consecutive layers (the output layer last) on
    different devices."""
    devs = [split_device(i, layers, ratios) for i in range(layers + 1)]
    return sum(a != b for a, b in zip(devs, devs[1:]))


def pp_layer_counts(layers: int, pp: int) -> tuple[int, ...]:
    """Layers per pipeline stage as vLLM cuts them (vllm/distributed/utils.py ``get_pp_indices``:
    ``layers // pp`` each, the remainder one more each to the stages before the last, from the
    second-last backwards)."""
    if pp > layers:
        raise SimlowError(f"pp {pp} exceeds the model's {layers} layers: a stage would hold none")
    base, extra = divmod(layers, pp)
    counts = [base] * pp
    for i in range(2, extra + 2):
        counts[-i] += 1
    return tuple(counts)


MATMUL_GROUPS = ("attention", "ffn", "lm_head")   # weight parts a llama.cpp row split spreads by rows
# (2-D matmul weights; 3-D expert tensors stay with their layer: ggml-cuda asserts a split
# tensor has ne02 == 1)


def device_footprints(fp: Footprint, model: ModelSpec, par: Parallel) -> tuple[Footprint, ...]:
    """What each device of the group holds (weights, KV cache, its own compute buffer).

    Layer split: each device its layers (``layer_counts``), the embedding and lm_head on the
    output layer's device (``split_device``: the last with a share). Row split: the matmul weights (``MATMUL_GROUPS``) by ratio on every device, the
    rest of each layer (norms, experts) and its KV cache on the layer's device (llama.cpp
    assigns layers to devices by ``-ts`` in both modes), the embedding on the output's device. Tensor x
    pipeline parallel (stage-major): each stage its layers (``pipeline.pp_layer_counts``),
    the embedding on the first stage and lm_head on the last, all of it split ``tp`` ways
    (KV heads replicated when fewer than ``tp``)."""
    L = model.layers
    if par.split:
        counts = layer_counts(L, par.split)
        ratios = np.asarray(par.split, dtype=np.float64) / float(sum(par.split))
        out = split_device(L, L, par.split)
        return tuple(_share(fp, {**{k: c / L for k in LAYER_GROUPS},
                                 **({k: float(r) for k in MATMUL_GROUPS} if par.row else {})},
                            1.0 if i == out else 0.0, c / L) for i, (c, r) in enumerate(zip(counts, ratios)))
    counts, tp = pp_layer_counts(L, par.pp), par.tp
    kv_share = max(1.0 / tp, 1.0 / model.kv_heads)
    last = len(counts) - 1
    out = []
    for s, c in enumerate(counts):
        shares = {**{k: c / L / tp for k in LAYER_GROUPS}, "embedding": (s == 0) / tp}
        out += [_share(fp, shares, (s == last) / tp, c / L * kv_share) for _ in range(tp)]
    return tuple(out)


def _share(fp: Footprint, shares: dict, other: float, kv_share: float) -> Footprint:
    """``fp`` with each weight part ``k`` scaled by ``shares[k]`` (``other`` for parts not
    named) and the KV cache by ``kv_share``."""
    weights = {k: int(round(v * shares.get(k, other))) for k, v in fp.weights_bytes.items()}
    return replace(fp, weights_bytes=weights, kv_cache_bytes=int(round(fp.kv_cache_bytes * kv_share)))


def group_memory(fp: Footprint, model: ModelSpec, par: Parallel) -> dict:
    """The memory of a group as a prediction reports it: the fullest device's footprint,
    fit and shortfall over every device, each device's under ``devices``."""
    devices = device_footprints(fp, model, par)
    fullest = max(devices, key=lambda d: d.total_bytes / d.usable_bytes)
    return {**fullest.to_dict(), "fits": all(d.fits for d in devices),
            "shortfall_bytes": max(d.shortfall_bytes for d in devices),
            "devices": [d.to_dict() for d in devices], "parallel": par.describe()}


def group_energy(hw: HardwareSpec, engine, par: Parallel, pre, dec, fmt) -> dict:
    """Joules of the whole group: tensor parallel, ``tp`` devices each doing 1/tp of every
    step's bytes and ops; a llama.cpp split, one device's energy doing all of the work (in a
    row split the other devices' clocked power during their share of a matmul is not
    counted) while the others draw their idle power; pipeline parallel, each stage's tensor-
    parallel group as above over its busy time (``StepTimes.work_s`` summed over the stages)
    and idle power over the rest of ``pp`` x the wall time."""
    if par.split:
        return _with_idle(energy.energy(hw, engine, pre, dec, fmt), hw, (par.devices - 1), pre, dec, None)
    n = par.tp
    busy = [None if t is None else replace(t, bytes=t.bytes / n, flops=t.flops / n,
                                           total_s=t.total_s if t.work_s is None else t.work_s) for t in (pre, dec)]
    parts = {k: v if k.endswith("_throttle") else n * v for k, v in energy.energy(hw, engine, *busy, fmt).items()}
    return parts if par.pp == 1 else _with_idle(parts, hw, n, pre, dec, par.pp)


def _with_idle(parts: dict, hw: HardwareSpec, boards: int, pre, dec, pp: int | None) -> dict:
    """``parts`` plus ``boards`` x idle power over each phase's wall time (``pp`` given: over
    ``pp`` x the wall time less the stages' busy time), average watts over the wall time."""
    idle = boards * (hw.power.idle_w or 0.0)
    for k, t in (("prefill", pre), ("decode", dec)):
        if t is not None:
            seconds = float(np.sum(t.total_s))
            extra = seconds if pp is None else pp * seconds - float(np.sum(t.work_s))
            parts[f"{k}_j"] += idle * extra
            parts[f"{k}_avg_w"] = parts[f"{k}_j"] / seconds
    return parts


def comm_op(par: Parallel) -> str:
    """The name of the group's communication op in timelines (the DES's op name)."""
    if par.row:
        return "row_copies"
    if par.pp > 1:
        return "stage_transfers"
    return "handover" if par.split else "all_reduce"


def comm_note(par: Parallel, link: PeerLink, pre, dec) -> str:
    """What a prediction's notes say of the group: its link and communication time per phase
    (``comm_s`` of ``StepTimes``, or a DES phase's seconds in the same mapping)."""
    comm = {k: float(np.sum(t.comm_s)) for k, t in (("prefill", pre), ("decode", dec)) if t is not None}
    return (f"{par.describe()}, {link.bandwidth_Bps / 1e9:g} GB/s per direction (hwspec link {link.name!r}): "
            + ", ".join(f"{k} communication {v * 1e3:.3g} ms" for k, v in comm.items())
            + "; memory and fit per device (simlow.sim.parallel)")
