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


@dataclass(frozen=True)
class Parallel:
    """How a request is spread over identical devices: ``tp`` devices in tensor parallel,
    or a layer split by ``split`` ratios (one device per ratio), over ``link``."""
    tp: int = 1
    split: tuple[float, ...] = ()
    link: LinkKind = LinkKind.NVLINK

    def __post_init__(self) -> None:
        object.__setattr__(self, "link", _link_kind(self.link))
        if isinstance(self.tp, bool) or not isinstance(self.tp, (int, np.integer)) or self.tp < 1:
            raise SimlowError(f"tp must be a whole number >= 1, got {self.tp!r}")
        if self.split and (len(self.split) < 2 or any(not r >= 0 for r in self.split) or not sum(self.split) > 0):
            raise SimlowError(f"a layer split needs two or more ratios >= 0 with a positive sum, got {self.split!r}")
        if self.split and self.tp > 1:
            raise SimlowError("give tensor parallel (tp) or a layer split, not both")

    @property
    def devices(self) -> int:
        return len(self.split) if self.split else self.tp

    def describe(self) -> str:
        if self.split:
            return f"layer split {':'.join(f'{r:g}' for r in self.split)} over {self.devices} devices ({self.link})"
        return f"tensor parallel over {self.tp} devices ({self.link})"


def _link_kind(value) -> LinkKind:
    try:
        return LinkKind(value)
    except ValueError:
        raise SimlowError(f"unknown link {value!r} (valid: {', '.join(k.value for k in LinkKind)})") from None


def parse_split(text: str) -> tuple[float, ...]:
    """``"layer:3,1"`` -> (3.0, 1.0) (llama.cpp ``-sm layer -ts 3,1``)."""
    mode, _, ratios = text.partition(":")
    if mode != "layer" or not ratios:
        raise SimlowError(f"--split {text!r}: expected layer:R1,R2[,...] (e.g. layer:3,1); row split is not modelled")
    try:
        return tuple(float(r) for r in ratios.split(","))
    except ValueError:
        raise SimlowError(f"--split {text!r}: ratios must be numbers, got {ratios!r}") from None


def parallel_from(tp: int | None = None, split: str | tuple | None = None, link: str | LinkKind = "nvlink"
                  ) -> Parallel | None:
    """The ``Parallel`` a request names, or None for one device (tp 1 and no split)."""
    ratios = parse_split(split) if isinstance(split, str) else tuple(split or ())
    par = Parallel(1 if tp is None else tp, ratios, link)
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
        return (par.devices - 1) * handover_s(values * HANDOVER_BYTES, link)
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


def layer_counts(layers: int, ratios: tuple[float, ...]) -> tuple[int, ...]:
    """Layers per device of a layer split: layer ``i`` goes to the first device whose
    cumulative share exceeds ``i / layers`` (llama.cpp llama-model.cpp, ``-ts``)."""
    cum = np.cumsum(np.asarray(ratios, dtype=np.float64)) / float(sum(ratios))
    counts = [0] * len(ratios)
    for i in range(layers):
        counts[int(np.searchsorted(cum, i / layers, side="right"))] += 1
    return tuple(counts)


def device_footprints(fp: Footprint, model: ModelSpec, par: Parallel) -> tuple[Footprint, ...]:
    """What each device of the group holds (weights, KV cache, its own compute buffer)."""
    if par.split:
        counts = layer_counts(model.layers, par.split)
        return tuple(_share(fp, c / model.layers, c / model.layers, last=(i == len(counts) - 1))
                     for i, c in enumerate(counts))
    kv_share = max(1.0 / par.tp, 1.0 / model.kv_heads)
    return tuple(_share(fp, 1.0 / par.tp, kv_share, last=True, all_parts=True) for _ in range(par.tp))


def _share(fp: Footprint, share: float, kv_share: float, last: bool, all_parts: bool = False) -> Footprint:
    weights = {k: int(round(v * share)) if all_parts or k in LAYER_GROUPS else (v if last else 0)
               for k, v in fp.weights_bytes.items()}
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
    step's bytes and ops; layer split, one device at work at a time (its energy as one device
    doing all of it) while the others draw their idle power."""
    if par.split:
        parts = energy.energy(hw, engine, pre, dec, fmt)
        idle = (par.devices - 1) * (hw.power.idle_w or 0.0)
        for k, t in (("prefill", pre), ("decode", dec)):
            if t is not None:
                seconds = float(np.sum(t.total_s))
                parts[f"{k}_j"] += idle * seconds
                parts[f"{k}_avg_w"] = parts[f"{k}_j"] / seconds
        return parts
    n = par.tp
    share = [None if t is None else replace(t, bytes=t.bytes / n, flops=t.flops / n) for t in (pre, dec)]
    parts = energy.energy(hw, engine, *share, fmt)
    return {k: v if k.endswith("_throttle") else n * v for k, v in parts.items()}


def comm_op(par: Parallel) -> str:
    """The name of the group's communication op in timelines (the DES's op name)."""
    return "handover" if par.split else "all_reduce"


def comm_note(par: Parallel, link: PeerLink, pre, dec) -> str:
    """What a prediction's notes say of the group: its link and communication time per phase
    (``comm_s`` of ``StepTimes``, or a DES phase's seconds in the same mapping)."""
    comm = {k: float(np.sum(t.comm_s)) for k, t in (("prefill", pre), ("decode", dec)) if t is not None}
    return (f"{par.describe()}, {link.bandwidth_Bps / 1e9:g} GB/s per direction (hwspec link {link.name!r}): "
            + ", ".join(f"{k} communication {v * 1e3:.3g} ms" for k, v in comm.items())
            + "; memory and fit per device (simlow.sim.parallel)")
