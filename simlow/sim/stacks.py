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

from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from simlow import formats
from simlow.errors import SimlowError, unknown_name
from simlow.sim.eras import NEWEST, Era, at_build, at_era, read_eras
from simlow.sim.host import ServingHost, read_host
from simlow.workload.op import OpClass
from simlow.specs.hardware import COMPUTE_FORMATS, EngineKind
from simlow.specs.filememo import FileMemo
from simlow.specs.registry import data_root
from simlow.specs.yamlfile import Reader, load_yaml
from simlow.quantities import Dim

SCHEMA_VERSION = 1
_CLASSES = tuple(c.value for c in OpClass)
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


def stack_dir() -> Path:
    return data_root() / "workloads" / "stacks"


def stack_names() -> list[str]:
    return sorted(p.stem for p in stack_dir().glob("*.yaml"))


def load_stack(name_or_path: str | Path) -> Stack:
    """A stack by name (``"llama.cpp-cuda"``) or by YAML path; ``<stack>@<era>`` names one of
    its build eras (``simlow.sim.eras``: ``@b2795-b2843``, ``@b2824``, ``@newest``)."""
    if isinstance(name_or_path, Stack):
        return name_or_path
    text = str(name_or_path)
    if "@" in text:
        head, tail = text.rsplit("@", 1)
        return at_era(load_stack(head), tail)
    path = Path(text) if text.endswith((".yaml", ".yml")) or "/" in text else stack_dir() / f"{text}.yaml"
    if path.is_dir():
        raise SimlowError(f"stack file {text!r} is a directory, not a file")
    if not path.is_file():
        if path.parent == stack_dir():
            raise unknown_name("stack", text, stack_names())
        raise SimlowError(f"stack file {text!r} does not exist")
    return _read(path.resolve())


def _read_stack(path: Path) -> Stack:
    r = Reader(load_yaml(path), str(path))
    if r.int("schema_version") != SCHEMA_VERSION:
        r.fail(f"schema_version must be {SCHEMA_VERSION}", "schema_version")
    name = r.str("name")
    if name != path.stem:
        r.fail(f"name {name!r} must equal the file name stem {path.stem!r}", "name")
    stack = Stack(
        name=name, title=r.str("title"), source=r.str("source"),
        engine=EngineKind(r.str("engine", choices=tuple(k.value for k in EngineKind))),
        formats=_formats(r),
        compute=_compute_list(r),
        dequantize_to=r.str("dequantize_to", choices=COMPUTE_FORMATS),
        ubatch=r.int("ubatch", default=512, minimum=1),
        vector_formats=_format_list(r, "vector_formats") if r.has("vector_formats") else VECTOR_FORMATS,
        fallback_engine=(EngineKind(r.str("fallback_engine", choices=tuple(k.value for k in EngineKind)))
                         if r.has("fallback_engine") else None),
        native_formats=_native(r) if r.has("native_formats") else None,
        expert_kernels=_expert_kernels(r) if r.has("expert_kernels") else None,
        bandwidth_mode=BandwidthMode(r.str("bandwidth_mode", default="occupancy",
                                           choices=tuple(m.value for m in BandwidthMode))),
        serving=read_host(r.sub("serving"), _fit_split) if r.has("serving") else None,
        **_calibrated(r, required=True),
    )
    if stack.fallback_engine is stack.engine:
        r.fail(f"fallback_engine must differ from engine ({stack.engine.value})", "fallback_engine")
    _check_energy(stack, r)
    if r.has("eras"):
        stack = replace(stack, eras=read_eras(r, stack, _era_stack))
    r.done()
    return stack


CALIBRATED = ("bandwidth", "compute_efficiency", "kernel_overhead", "step_overhead", "calibration",
              "matmul_unit_rate", "memory_unit_rate", "dequant_cost", "matmul_energy", "matmul_energy_scale",
              "matmul_tile_rows", "fitted_on")


def _calibrated(r: Reader, required: bool) -> dict:
    """The calibrated constants (``CALIBRATED``) a stack file or one of its eras gives, as
    ``Stack`` fields: all of them for the stack (optional ones at their defaults), only the
    keys present for an era (the rest are the stack's)."""
    readers = {
        "bandwidth": ("bandwidth", lambda: _fractions(r, "bandwidth")),
        "compute_efficiency": ("compute_efficiency", lambda: _fractions(r, "compute_efficiency")),
        "kernel_overhead": ("kernel_overhead_s", lambda: r.quantity("kernel_overhead", Dim.TIME)),
        "step_overhead": ("step_overhead_s", lambda: r.quantity("step_overhead", Dim.TIME)),
        "calibration": ("calibration", lambda: r.str("calibration")),
        "matmul_unit_rate": ("matmul_unit_rate", lambda: r.number("matmul_unit_rate", lo=1.0)),
        "memory_unit_rate": ("memory_unit_rate", lambda: r.number("memory_unit_rate", lo=0.01)),
        "dequant_cost": ("dequant_cost", lambda: r.number("dequant_cost", lo=0.0, hi=100.0)),
        "matmul_energy": ("matmul_energy_J", lambda: r.quantity("matmul_energy", Dim.ENERGY)),
        "matmul_energy_scale": ("matmul_energy_scale", lambda: r.number("matmul_energy_scale", lo=1.0)),
        "matmul_tile_rows": ("matmul_tile_rows", lambda: r.number("matmul_tile_rows", lo=1.0, hi=4096.0)),
        "fitted_on": ("fitted_on", lambda: _fit_split(r)),
    }
    must = ("bandwidth", "compute_efficiency", "kernel_overhead", "calibration") if required else ("calibration",)
    out = {}
    for key, (attr, read) in readers.items():
        if r.has(key) or key in must:
            out[attr] = read()
        elif required:
            out[attr] = 0.0 if key == "step_overhead" else None
    return out


def _check_energy(stack: Stack, r: Reader) -> None:
    if stack.matmul_energy_J is not None and stack.matmul_energy_scale is not None:
        r.fail("give matmul_energy or matmul_energy_scale, not both", "matmul_energy_scale")


def _era_stack(base: Stack, r: Reader, era: str) -> Stack:
    """``base`` with the calibrated constants era ``era`` (reader ``r``) gives."""
    given = {"fitted_on": None, **_calibrated(r, required=False)}    # an era's split is its own
    stack = replace(base, era=era, eras=(), **given)
    _check_energy(stack, r)
    return stack


def _fit_split(r: Reader) -> FitSplit:
    sub = r.sub("fitted_on")
    by = GroupBy(sub.str("by", choices=tuple(g.value for g in GroupBy)))
    split = FitSplit(by, frozenset(sub.str_list("train")), frozenset(sub.str_list("held_out")))
    if not split.train:
        sub.fail("must name at least one group", "train")
    if split.train & split.held_out:
        sub.fail(f"groups both trained on and held out: {', '.join(sorted(split.train & split.held_out))}",
                 "held_out")
    sub.done()
    return split


_read = FileMemo(_read_stack)


def _formats(r: Reader) -> frozenset[str]:
    out: set[str] = set()
    for item in r.str_list("formats"):
        if item == "gguf":
            out |= {n for n, f in formats.FORMATS.items() if f.gguf_type is not None}
        elif item in formats.FORMATS:
            out.add(item)
        else:
            r.fail(f"unknown storage format {item!r} (valid: gguf, {', '.join(sorted(formats.FORMATS))})",
                   "formats")
    return frozenset(out)


def _native(r: Reader) -> frozenset[str]:
    items = r.str_list("native_formats")
    for item in items:
        if item not in formats.FORMATS:
            r.fail(f"unknown storage format {item!r} (valid: {', '.join(sorted(formats.FORMATS))})",
                   "native_formats")
    return frozenset(items)


def _expert_kernels(r: Reader) -> tuple[float, float]:
    sub = r.sub("expert_kernels")
    out = (sub.number("mmq", lo=0.0, hi=64.0), sub.number("blas", lo=0.0, hi=64.0))
    sub.done()
    return out


def _compute_list(r: Reader) -> tuple[str, ...]:
    return _format_list(r, "compute", allow_empty=True)


def _format_list(r: Reader, key: str, allow_empty: bool = False) -> tuple[str, ...]:
    items = r.str_list(key)
    if not items and not allow_empty:
        r.fail("must list at least one compute format", key)
    for item in items:
        if item not in COMPUTE_FORMATS:
            r.fail(f"unknown compute format {item!r} (valid: {', '.join(COMPUTE_FORMATS)})", key)
    return tuple(items)


def _fractions(r: Reader, key: str) -> Mapping[str, float]:
    sub = r.sub(key)
    out = {}
    for cls in _CLASSES:
        out[cls] = sub.number(cls, lo=1e-4, hi=1.0)
    sub.done()
    return MappingProxyType(out)
