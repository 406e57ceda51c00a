"""Hard bounds: what no software can beat on a given device, from bytes and operations.

Each bound is a ``Limit``: a quantity every token needs (bytes moved, operations done)
and the device's capacity for it, so ``rate <= capacity / per_token``. The bounds are
deliberately generous to the claimant (they are ceilings, not predictions):

- **bandwidth roofline** (decode): each step reads every weight a token touches once,
  shared by the whole batch (embedding rows are a lookup and not counted; a tied
  embedding is read in full as the output head), and at least ``top_k`` experts per MoE
  layer whatever the batch; plus every sequence's KV cache at the mean decode position
  (``depth + prompt + gen / 2``), sliding windows honoured.
- **compute roofline**: 2 operations per multiply-accumulate over the active weights,
  plus attention's QK and AV (2 x 2 x q_dim per attended token per layer); at the
  primary engine's peak in the scheme's compute format, else its best 16-bit rate
  (weights dequantized to fp16/bf16), else its best rate of any format.
- **host link** (offload): the bytes a step must copy from host memory (expert-cache
  misses under the stated routing, or streamed layers) cross the host link at its
  per-direction bandwidth, at best fully overlapped with the device-side work; layers run
  on the host CPU add their host-memory reads in sequence (``simlow.claims.offload``).
- **prefill bandwidth**: the prompt's weights are read at least once per prompt.
- **memory capacity**: weights (the device part under offload) + KV cache (the device
  part) + workspace must fit the device's usable memory (``simlow.memory``).
- **energy floor**: decode bytes times the memory's energy per bit, where the spec has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from simlow.claims import offload as O
from simlow.claims.schema import Offload
from simlow.workload.tokens import Workload
from simlow.errors import SimlowError
from simlow.memory import activation_bytes, kv_bytes_per_sequence, largest, weight_bytes_by_part
from simlow.specs.scheme import weight_bytes
from simlow.claims.text import si
from simlow.specs import HardwareSpec, ModelSpec, Scheme
from simlow.specs.model import TensorClass
from simlow.specs.tensors import weight_tensors
from simlow.sim.offload_spec import HostMode

_SIXTEEN_BIT = ("fp16", "bf16")


@dataclass(frozen=True)
class Limit:
    """``rate <= capacity / per_token``: one hard ceiling on tokens per second."""

    name: str               # "bandwidth roofline", "compute roofline", "host link", ...
    per_token: float        # bytes or operations each token needs
    capacity: float         # bytes/s or ops/s the device provides
    unit: str               # "B/s" or "op/s"
    what: str               # what flows: "weight and KV-cache reads", "int8 compute", ...

    @property
    def rate(self) -> float:
        return self.capacity / self.per_token if self.per_token > 0 else float("inf")

    def need(self, rate: float) -> float:
        """The capacity ``rate`` tokens per second would need."""
        return rate * self.per_token


@dataclass(frozen=True)
class Setup:
    """Resolved specs and settings of one configuration."""

    model: ModelSpec
    hw: HardwareSpec | None      # None for questions about bytes alone
    scheme: Scheme
    workload: Workload
    offload: Offload | None = None
    routing: object = None       # a simlow.workload.routing distribution (None: uniform)

    @property
    def route(self):
        return self.routing if self.routing is not None else O.routing_of(None)

    def experts(self) -> O.ExpertTraffic | None:
        """Expected expert-cache traffic per decode step, if the offload has an expert cache."""
        if self.offload is None or self.offload.expert_cache is None:
            return None
        return O.expert_traffic(self.model, self.scheme, self.route, self.offload.expert_cache.fraction, self.workload.batch)


# -- bytes and operations -----------------------------------------------------------------

def expert_bytes(s: Setup) -> int:
    """Bytes of every routed expert in the model (0 for a dense model)."""
    return weight_bytes_by_part(s.model, s.scheme).get("experts", 0)


def active_expert_bytes(s: Setup) -> float:
    """Routed-expert bytes one token reads: ``top_k`` of ``experts`` per MoE layer."""
    moe = s.model.moe
    return expert_bytes(s) * moe.top_k / moe.experts if moe else 0.0


def step_weight_bytes(s: Setup) -> float:
    """Weight bytes one decode step reads (see the module docstring)."""
    parts = weight_bytes_by_part(s.model, s.scheme)
    dense = sum(b for part, b in parts.items() if part not in ("embedding", "experts"))
    if s.model.tied_embeddings:
        dense += parts.get("embedding", 0)
    return dense + active_expert_bytes(s)


def decode_context(w: Workload) -> int:
    """The mean number of cached tokens a decode step attends to."""
    return w.depth + w.prompt + w.gen // 2


def matmul_params(m: ModelSpec) -> int:
    """Weights in matrix multiplies per token (embedding lookup excluded, tied head included)."""
    total = 0
    for t in weight_tensors(m):
        if t.cls in (TensorClass.NORM, TensorClass.BIAS, TensorClass.ROPE) or t.rows == 1:
            continue
        if t.cls is TensorClass.EMBEDDING and not m.tied_embeddings:
            continue
        per = t.rows * t.cols
        total += per * (m.moe.top_k if t.cls.is_expert and m.moe else t.count)
    return total


def flops_per_token(m: ModelSpec, ctx: int) -> float:
    """Operations for one token at context ``ctx``: weights and attention (QK and AV)."""
    attn = sum(4 * m.q_dim * m.attended_tokens(layer, ctx) for layer in range(m.layers))
    return 2.0 * matmul_params(m) + attn


def peak_ops(hw: HardwareSpec, fmt: str) -> tuple[float, str]:
    """The primary engine's peak for ``fmt`` and the format it runs in (see docstring)."""
    engine = hw.primary
    if engine.peak(fmt) > 0:
        return engine.peak(fmt), fmt
    sixteen = [(engine.peak(f), f) for f in _SIXTEEN_BIT if engine.peak(f) > 0]
    if sixteen:
        return max(sixteen)
    return max((v, f) for f, v in engine.peak_ops.items())


# -- limits ---------------------------------------------------------------------------------

def decode_limits(s: Setup) -> list[Limit]:
    """Ceilings on decode tokens per second (all sequences of the batch together)."""
    w, hw = s.workload, s.hw
    kv = kv_bytes_per_sequence(s.model, s.scheme, decode_context(w))
    peak, fmt = peak_ops(hw, s.scheme.compute)
    compute = Limit("compute roofline", flops_per_token(s.model, decode_context(w)), peak, "op/s", f"{fmt} compute")
    mem = hw.main_memory
    if s.offload is None:
        return [Limit("bandwidth roofline", step_weight_bytes(s) / w.batch + kv, mem.bandwidth_Bps, "B/s",
                      "weight and KV-cache reads"), compute]
    link = hw.host_link()
    if link is None:
        raise SimlowError(f"{hw.name} has no host link to offload over; unified-memory devices do not offload")
    if s.offload.device_layers is not None:
        return _layer_limits(s, link, kv, compute)
    t = s.experts()
    dense = step_weight_bytes(s) - active_expert_bytes(s)
    return [Limit("bandwidth roofline", (dense + t.device_bytes) / w.batch + kv, mem.bandwidth_Bps, "B/s",
                  "weight and KV-cache reads (cached experts only)"), compute,
            Limit("host link", t.link_bytes / w.batch, link.bandwidth_Bps, "B/s",
                  f"expert-cache misses over {link.kind} ({t.hit_rate:.0%} hit rate in expectation)")]


def _layer_limits(s: Setup, link, kv: int, compute: Limit) -> list[Limit]:
    """Ceilings of a -ngl layer offload (``simlow.claims.offload``); experts cached too if set."""
    w, hw, off = s.workload, s.hw, s.offload
    if off.expert_cache is not None:
        raise SimlowError("an offload with both device_layers and experts has no hard bound here; give one")
    split = O.layer_split(s.model, s.scheme, off.device_layers, off.host, decode_context(w))
    mem = hw.main_memory
    device = split.device_weights / w.batch + split.device_kv
    if off.host.for_step(w.batch) is HostMode.STREAM:
        return [Limit("bandwidth roofline", device, mem.bandwidth_Bps, "B/s", "device-layer weight and KV reads"),
                compute, Limit("host link", split.host_weights / w.batch, link.bandwidth_Bps, "B/s",
                               f"streamed host-layer weights over {link.kind}")]
    host_mem = hw.memory(next(m for m in link.between if m != mem.name))
    host = split.host_weights / w.batch + split.host_kv
    seconds = device / mem.bandwidth_Bps + host / host_mem.bandwidth_Bps
    return [Limit("device + host memory", device + host, (device + host) / seconds, "B/s",
                  f"device-layer reads from {mem.name}, then host-layer reads from {host_mem.name} "
                  f"({si(host_mem.bandwidth_Bps, 'B/s')}), in sequence"), compute]


def prefill_limits(s: Setup) -> list[Limit]:
    """Ceilings on prefill tokens per second (prompt tokens of the whole batch)."""
    w, m = s.workload, s.model
    tokens = w.prompt * w.batch
    peak, fmt = peak_ops(s.hw, s.scheme.compute)
    mean_ctx = w.depth + max(1, (w.prompt + 1) // 2)
    limits = [Limit("compute roofline", flops_per_token(m, mean_ctx), peak, "op/s", f"{fmt} compute")]
    weights = step_weight_bytes(s)
    if m.moe is not None:  # at least top_k x tokens distinct experts, at most all of them
        share = min(1.0, m.moe.top_k * tokens / m.moe.experts) - m.moe.top_k / m.moe.experts
        weights += max(0.0, share) * expert_bytes(s)
    limits.append(Limit("bandwidth roofline", weights / tokens, s.hw.main_memory.bandwidth_Bps, "B/s",
                        "weight reads (once per prompt)"))
    return limits


def binding(limits: list[Limit]) -> Limit:
    """The tightest ceiling."""
    return min(limits, key=lambda lim: lim.rate)


def energy_floor_j(s: Setup) -> float | None:
    """Joules per decode token for its memory traffic alone, or None without a spec figure."""
    e = s.hw.main_memory.energy_J_per_bit
    if e is None:
        return None
    lim = decode_limits(s)[0]
    return lim.per_token * 8 * e


# -- memory ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Resident:
    """Bytes that must sit in device memory, against what it can hold."""

    weights: float
    kv_cache: float
    workspace: float
    usable: float
    offloaded: float = 0.0

    @property
    def total(self) -> float:
        return self.weights + self.kv_cache + self.workspace

    @property
    def fits(self) -> bool:
        return self.total <= self.usable


def resident(s: Setup, ctx: int | None = None, batch: int | None = None) -> Resident:
    """Device-resident bytes at context ``ctx`` (default: the workload's full context)."""
    ctx = s.workload.context if ctx is None else ctx
    batch = s.workload.batch if batch is None else batch
    weights = float(weight_bytes(s.model, s.scheme))
    kv = float(batch * kv_bytes_per_sequence(s.model, s.scheme, ctx))
    offloaded = 0.0
    if s.offload is not None and s.offload.expert_cache is not None:
        offloaded += (1.0 - s.offload.expert_cache.fraction) * expert_bytes(s)
    if s.offload is not None and s.offload.device_layers is not None:
        split = O.layer_split(s.model, s.scheme, s.offload.device_layers, s.offload.host, ctx)
        offloaded += split.host_resident
        kv -= batch * split.host_kv
    return Resident(weights - offloaded, kv, float(activation_bytes(s.model, ctx, batch)),
                    s.hw.main_memory.usable_bytes, offloaded)


def max_context(s: Setup) -> int:
    """The longest context (up to the model's maximum) that fits; 0 if none does."""
    return max(largest(1, s.model.max_context, lambda c: resident(s, c).fits), 0)
