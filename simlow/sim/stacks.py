"""Software stacks: the same silicon runs at different speeds under different engines.

A stack (``workloads/stacks/<name>.yaml``) says, as data, what one inference engine gets out
of a device: the fraction of peak DRAM bandwidth and of peak compute it achieves per op
class (``simlow.workload.op.OpClass``), a fixed cost per kernel launch and per forward step, which
storage formats it can run at all, and which compute formats it has native kernels for
(anything else it dequantizes to ``dequantize_to`` before the matmul).

A matmul achieves ``min(compute_efficiency.matmul * peak[format], matmul_unit_rate * units
* clock)``: llama.cpp's quantized matmul kernels (dequantize in registers, then int8/fp16
MMA or dot products) are bound by instruction issue per SM / CU, not by the tensor peak, so
a rate per unit per clock carries across chips of one vendor where a fraction of the format
peak does not (measured: ``simlow.validation.calibrate``; see each stack's ``calibration``). The
engine's ``units`` and ``clock`` come from the hardware spec; an engine without them gets no
such cap. A board at its power limit cannot hold its boost clock either: with
``matmul_energy`` (joules per matmul op, whole board) matmuls are also capped at
``tdp / matmul_energy`` (the device's ``power.tdp``). With ``matmul_energy_scale`` instead,
the board's energy per op is derived from the silicon: the scale times the energy of one op
of a MAC of the format the matmul runs in at the device's process node (``simlow.cost``
technology tables; ``simlow.sim.machine.mac_energy_per_op``), so a chip on an older node
reaches its TDP at a lower op rate. A stack gives at most one of the two.

Where each op runs (``Stack.candidates``, ``simlow.sim.machine.placement``): a matmul or
attention op asks for a compute format (the scheme's, e.g. int8 for Q4_0 weights, fp16 for
attention); it runs in that format when the stack lists it in ``compute`` and the engine has
a rate for it, else in ``dequantize_to``, else in fp16, bf16, fp32 (first the engine has).
When the stack gives ``native_formats``, a matmul whose weight format is not among them has
no matrix kernel: it dequantizes in a scalar shader and multiplies on the vector ALUs, so it
runs in the first of ``vector_formats`` the engine has (``Stack.scalar_path``). A
vector or gather op runs in the first of ``vector_formats`` the engine has. An engine with
none of these formats (an int8-only NPU asked for a softmax) does not get the op at a rate it
lacks: the op is placed on the stack's ``fallback_engine`` (same device, same memory) in the
first of the same formats that engine has, or, without one, the prediction fails with a
``SimlowError`` naming the op class, the formats tried and the engine's rates.

The calibrated constants (``CALIBRATED``) may differ per build era of the engine
(``eras:``, ``simlow.sim.eras``): ``Stack.at_build`` picks the era of a measurement's build.

Efficiencies are few and physical; ``calibration`` says how each was obtained (fitted on
which rows of ``workloads/measured/``, by ``simlow.validation.calibrate``, or assumed). Nothing
is per device: a device with no measured row is predicted from its spec and the stack.

YAML schema (version 1)::

    schema_version: 1
    name: llama.cpp-cuda             # equals the file stem
    title: llama.cpp, CUDA backend
    source: "..."                    # what the format/kernel facts come from
    engine: gpu                      # engine kind it runs on: gpu | npu | cpu
    formats: [gguf]                  # storage formats it runs ("gguf" = every GGUF type)
    compute: [int8, fp16, bf16, fp32]    # compute formats with native matmul kernels
    dequantize_to: fp16              # what it computes in otherwise
    bandwidth: {matmul: 0.8, attention: 0.6, vector: 0.5, gather: 0.5}   # of peak DRAM B/s
    compute_efficiency: {matmul: 0.5, attention: 0.3, vector: 0.1, gather: 0.1}  # of peak ops/s
    matmul_unit_rate: 500            # optional: matmul ops per compute unit (SM, CU, GPU core)
                                     # per clock the stack's kernels issue at most, any format
    memory_unit_rate: 6.0            # optional: DRAM bytes per compute unit per clock the
                                     # stack's kernels sustain at most (outstanding loads per
                                     # SM / latency); caps every bandwidth fraction at this x
                                     # units x clock / peak bandwidth (simlow.sim.machine)
    dequant_cost: 0.1                # optional: a matmul of quantized (not f16 / bf16 / f32)
                                     # weights also unpacks them to its compute format: this
                                     # many ops at the format's peak per matmul op, added to
                                     # the matmul's own time (simlow.sim.machine.dequant_factor)
    matmul_energy: 2.7 pJ            # optional: board energy per matmul op; the board's TDP
                                     # caps matmul ops/s at tdp / matmul_energy
    matmul_energy_scale: 150         # optional, instead: board energy per matmul op as a
                                     # multiple of the MAC's own energy per op at the node
    matmul_tile_rows: 64             # optional: activation rows per GEMM tile (llama.cpp MMQ
                                     # mmq_x); a matmul whose weights see fewer rows (an expert
                                     # of a MoE layer in prefill) pads its last tile
                                     # (simlow.sim.roofline.tile_fill)
    expert_kernels: {mmq: 2, blas: 4}   # optional: kernels launched per distinct expert a
                                     # prefill expert matmul touches (llama.cpp's mul_mat_id loop
                                     # over experts where MMQ is not used), for a slice of fewer /
                                     # at least 64 rows (simlow.sim.roofline.launches)
    native_formats: [q4_0, q8_0]     # optional: weight storage formats whose matmuls have
                                     # matrix / dot-product kernels; a matmul of any other
                                     # weight format runs on the vector ALUs, in the first of
                                     # vector_formats the engine has (default: all native)
    vector_formats: [fp32, fp16, bf16]   # optional (default shown): formats vector and gather
                                     # ops (norms, softmax, RoPE, activations) may run in, in
                                     # order of preference; the first the engine has a rate for
    bandwidth_mode: rate_cap         # optional (default occupancy): what the bandwidth fractions
                                     # mean when engines share a bus (discrete-event fidelity
                                     # only; the roofline is the same). occupancy: each byte
                                     # holds 1/fraction bytes of bus time (a GPU's inefficient
                                     # DRAM traffic). rate_cap: the engine's own path to memory
                                     # moves at most fraction x bus bandwidth and the bus is
                                     # charged only the bytes moved (an NPU's or CPU's port
                                     # limit; simlow.sim.des.fabric, ports)
    fallback_engine: cpu             # optional: engine kind of the same device that runs an op
                                     # none of whose formats the stack's engine has a rate for
    kernel_overhead: 4 us            # per kernel launch (graph node), serial with the kernel
    step_overhead: 0 us              # per forward pass (host-side graph build, sampling, sync)
    ubatch: 512                      # prompt tokens per prefill step (llama.cpp n_ubatch)
    calibration: "..."               # how the numbers above were obtained
    fitted_on:                       # optional: the calibration split, as data (absent: not fitted)
      by: hw                         # hw | model | scheme: what the rows were split by, whole groups
      train: [rtx-4080, ...]         # the groups the parameters were fitted on
      held_out: [rtx-4090, ...]      # the groups kept out of the fit
    eras:                            # optional: older build ranges, each with the calibrated
      - builds: b2795-b2843          # constants that differ there (simlow.sim.eras); the
        dated: "2024-05"             # constants above are the newest build's
        kernel_overhead: 6 us
        calibration: "..."
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Mapping

from simlow.errors import SimlowError
from simlow.sim.eras import NEWEST, Era, at_build
from simlow.sim.host import ServingHost
from simlow.workload.op import OpClass
from simlow.specs.hardware import EngineKind

FLOAT_FALLBACK = ("fp16", "bf16", "fp32")          # matmul / attention after dequantize_to
VECTOR_FORMATS = ("fp32", "fp16", "bf16")          # default vector_formats


class BandwidthMode(StrEnum):
    """What a stack's bandwidth fractions mean on a shared bus (the DES only; the
    roofline is the same): ``occupancy`` (each byte holds 1/fraction bytes of bus time)
    or ``rate_cap`` (the engine's own port moves at most fraction x bus bandwidth)."""
    OCCUPANCY = "occupancy"
    RATE_CAP = "rate_cap"


class GroupBy(Enum):
    """What a calibration split keeps whole: a case's device, model or scheme."""
    HW = "hw"
    MODEL = "model"
    SCHEME = "scheme"


@dataclass(frozen=True)
class FitSplit:
    """The groups a stack's parameters were fitted on and those held out of the fit."""
    by: GroupBy
    train: frozenset[str]
    held_out: frozenset[str]

    def split_of(self, group: str) -> str:
        return "in-sample" if group in self.train else "held-out"


@dataclass(frozen=True)
class Stack:
    name: str
    title: str
    engine: EngineKind
    formats: frozenset[str]
    compute: tuple[str, ...]
    dequantize_to: str
    bandwidth: Mapping[str, float]             # op class -> fraction of peak bandwidth
    compute_efficiency: Mapping[str, float]    # op class -> fraction of peak ops/s
    kernel_overhead_s: float
    step_overhead_s: float
    calibration: str
    source: str = ""
    ubatch: int = 512                          # prompt tokens per prefill step (micro-batch)
    matmul_unit_rate: float | None = None      # matmul ops per compute unit per clock (cap)
    memory_unit_rate: float | None = None      # DRAM bytes per compute unit per clock (cap)
    dequant_cost: float | None = None          # extra matmul time of quantized weights, in ops at peak per op
    matmul_energy_J: float | None = None       # board joules per matmul op (power cap)
    matmul_energy_scale: float | None = None   # or: board J per op / MAC J per op at the node
    matmul_tile_rows: float | None = None      # GEMM row tile (padding of small-M matmuls)
    vector_formats: tuple[str, ...] = VECTOR_FORMATS  # vector / gather op formats, preferred first
    fallback_engine: EngineKind | None = None  # engine kind running ops this engine has no format for
    native_formats: frozenset[str] | None = None  # weight formats with native-compute matmuls (None: all)
    expert_kernels: tuple[float, float] | None = None  # launches per touched expert in a prefill
                                               # expert matmul: (MMQ slice, BLAS slice)
    bandwidth_mode: BandwidthMode = BandwidthMode.OCCUPANCY  # what ``bandwidth`` means on a shared bus
    fitted_on: FitSplit | None = None          # the calibration split (None: nothing fitted)
    era: str = ""                              # the build era these constants are for ("": newest)
    eras: tuple[Era, ...] = ()                 # older build eras (simlow.sim.eras; the newest's only)
    serving: ServingHost | None = None         # serving engine host time (simlow.sim.host; serving only)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bandwidth_mode", BandwidthMode(self.bandwidth_mode))

    @property
    def label(self) -> str:
        """``<name>@<era>``: the stack and which of its calibrations this is."""
        return f"{self.name}@{self.era or NEWEST}"

    def at_build(self, build: int | None) -> "Stack":
        """The calibration for a measurement of llama.cpp build ``build`` (None: unknown)."""
        return at_build(self, build)

    def runs(self, storage_format: str) -> bool:
        return storage_format in self.formats

    def check_scheme(self, scheme) -> None:
        """Refuse a scheme with a weight or KV format this stack cannot run."""
        used = {f.name for f in scheme.weights.values()} | {o.format.name for o in scheme.overrides}
        used.add(scheme.kv_cache.name)
        bad = sorted(f for f in used if f not in self.formats and f not in ("f32", "f16"))
        if bad:
            raise SimlowError(f"stack {self.name} cannot run format {bad[0]} of scheme {scheme.name!r} "
                              f"(it runs: {', '.join(sorted(self.formats))})")

    def candidates(self, op_class: OpClass, wanted: str, weight_format: str | None = None) -> tuple[str, ...]:
        """Formats an op of ``op_class`` asking for ``wanted`` may run in, preferred first
        (see the module docstring); the first one an engine has a rate for is used.
        ``weight_format`` (a matmul's weights) is checked against ``native_formats``."""
        if self.scalar_path(op_class, weight_format):
            return self.vector_formats
        if op_class in (OpClass.MATMUL, OpClass.ATTENTION):
            native = (wanted,) if wanted in self.compute else ()
            return tuple(dict.fromkeys(native + (self.dequantize_to,) + FLOAT_FALLBACK))
        return self.vector_formats

    def scalar_path(self, op_class: OpClass, weight_format: str | None) -> bool:
        """Whether a matmul of weights in ``weight_format`` has no matrix kernel under this
        stack (``native_formats`` given and the format not in it): it runs on the vector ALUs."""
        return (op_class is OpClass.MATMUL and weight_format is not None and self.native_formats is not None
                and weight_format not in self.native_formats)

    def compute_format(self, wanted: str, engine) -> str:
        """The format a matmul asked to run in ``wanted`` actually runs in on ``engine``:
        the first of ``candidates(MATMUL, wanted)`` the engine has a rate for."""
        for fmt in self.candidates(OpClass.MATMUL, wanted):
            if engine.peak(fmt) > 0:
                return fmt
        tried = ", ".join(self.candidates(OpClass.MATMUL, wanted))
        raise SimlowError(f"engine {engine.name} has none of {tried} (it has {', '.join(engine.peak_ops)})")
