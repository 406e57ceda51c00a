"""Resolving a device and a software stack into the rates the roofline uses.

The engine is the first engine of the stack's kind (``gpu``, ``npu``, ``cpu``) unless one
is named. Its bandwidth is the peak bandwidth of the memory it reads weights from; its peak
for an op is the rate of the format the op actually runs in under the stack (native, or
dequantized, ``Stack.candidates``): ``placement(t, stack, hw, engine)``. Vector ops run in
the first of the stack's ``vector_formats`` (default fp32, fp16, bf16) the engine has. An op
none of whose formats the engine has a rate for is placed on the stack's
``fallback_engine`` (the first engine of that kind in the device), which must read the same
memory (moving operands between memories is not modelled); it runs there at that engine's
rate for the format times the stack's efficiency for the op class, one op after another with
the rest (the device's engines do not overlap within one request). Without a fallback
engine such an op is an error, never a rate the engine lacks. The DES counts a placed op as
the requesting agent's work: in a co-run (``simlow.sim.des.unified``) the fallback engine
is not treated as busy for another agent. Matmuls are capped at the stack's
``matmul_unit_rate`` x the engine's ``units`` x ``clock`` when the stack and the engine give
all three (on the stack's own engine only; a matmul placed on the fallback engine is not),
and at the device's TDP / the board energy per matmul op when the stack gives
one (``Stack`` docstring): ``matmul_energy`` directly, or ``matmul_energy_scale`` x the
energy of one op of a MAC of the format the matmul runs in at the device's node
(``mac_energy_per_op``: ``simlow.cost`` technology tables, Stillmaker scaling, fp32
accumulation for float formats, int32 for integer ones; a MAC is 2 ops). Otherwise
matmuls run at their share of the format peak only. A stack's ``memory_unit_rate`` (bytes
per compute unit per clock its kernels keep in flight, at most) caps the achieved bandwidth of
every op class at that x ``units`` x ``clock``: the bandwidth fraction the roofline (and the
DES) uses is ``min(bandwidth[class], memory_unit_rate x units x clock / peak bandwidth)``
(``bandwidth_fractions``), so a board whose memory is fast next to its SMs x clock (HBM on a
1.4 GHz A100) reaches a lower fraction of its peak than one whose memory is not. A stack's
``dequant_cost`` adds the unpacking of quantized weights to their matmuls' compute time
(``dequant_factor``); its ``expert_kernels`` adds launches per touched expert to prefill expert
matmuls (``simlow.sim.roofline.launches``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from simlow.errors import SimlowError
from simlow.numerics import COMPUTE
from simlow.workload.op import OpClass, OpTemplate
from simlow.sim.roofline import Machine
from simlow.sim.stacks import BandwidthMode, Stack
from simlow.specs.hardware import Engine, HardwareSpec


def pick_engine(hw: HardwareSpec, stack: Stack, engine: str | None = None) -> Engine:
    """The engine ``stack`` runs on in ``hw`` (``engine`` names one explicitly)."""
    if engine is not None:
        e = hw.engine(engine)
        if e.kind is not stack.engine:
            raise SimlowError(f"stack {stack.name} runs on a {stack.engine.value} engine; "
                              f"{hw.name}'s {e.name} is a {e.kind.value}")
        return e
    for e in hw.engines:
        if e.kind is stack.engine:
            return e
    kinds = ", ".join(f"{e.name} ({e.kind.value})" for e in hw.engines)
    raise SimlowError(f"stack {stack.name} needs a {stack.engine.value} engine; {hw.name} has {kinds}")


@dataclass(frozen=True)
class Placement:
    """Where one op runs: ``engine`` (the stack's, or its fallback) in ``format``."""

    engine: Engine
    format: str

    @property
    def peak(self) -> float:
        return self.engine.peak(self.format)


_FLOATS = ("fp32", "tf32", "fp16", "bf16")


def _first_rate(engine: Engine, formats: tuple[str, ...], fastest_float: bool = False) -> str | None:
    """The first of ``formats`` ``engine`` has a rate for. With ``fastest_float`` (matmul and
    attention) a float format is replaced by a faster float format later in the list: a
    16-bit float whose rate is below the engine's fp32 is not used (llama.cpp's ggml-cuda
    ``fast_fp16_available`` is false on compute capability 6.1, e.g. the Tesla P40 with fp16
    at 1/64 of fp32, which then computes its float matmuls and attention in fp32). Vector ops
    keep the stack's order (``vector_formats``)."""
    first = next((f for f in formats if engine.peak(f) > 0), None)
    if not fastest_float or first not in _FLOATS:
        return first
    floats = [f for f in formats if f in _FLOATS and engine.peak(f) > 0]
    return max(floats, key=engine.peak)        # max keeps the earliest of equal rates


def placement(t: OpTemplate, stack: Stack, hw: HardwareSpec | None, engine: Engine) -> Placement:
    """Where op ``t`` runs under ``stack`` on ``engine`` of ``hw`` (module docstring);
    ``hw`` may be None only when no fallback is needed."""
    formats = stack.candidates(t.op_class, t.compute, t.weight_format)
    gemm = t.op_class in (OpClass.MATMUL, OpClass.ATTENTION) and not stack.scalar_path(t.op_class, t.weight_format)
    fmt = _first_rate(engine, formats, gemm)
    if fmt is not None:
        return Placement(engine, fmt)
    have = ", ".join(engine.peak_ops)
    what = f"{t.op_class.value} op {t.name} needs one of {', '.join(formats)}; {engine.name} has only {have}"
    if stack.fallback_engine is None or hw is None:
        raise SimlowError(f"stack {stack.name}: {what}, and the stack names no fallback_engine "
                          "(give it one, or run a stack whose formats this engine has)")
    other = next((e for e in hw.engines if e.kind is stack.fallback_engine), None)
    if other is None:
        raise SimlowError(f"stack {stack.name}: {what}; its fallback_engine {stack.fallback_engine.value} "
                          f"is not in {hw.name} (engines: {', '.join(e.name for e in hw.engines)})")
    if other.memory != engine.memory:
        raise SimlowError(f"stack {stack.name}: {what}; fallback engine {other.name} reads {other.memory}, "
                          f"not {engine.memory} (moving operands between memories is not modelled)")
    fmt = _first_rate(other, formats, gemm)
    if fmt is None:
        raise SimlowError(f"stack {stack.name}: {what}; fallback engine {other.name} has none of them either "
                          f"(it has {', '.join(other.peak_ops)})")
    return Placement(other, fmt)


def run_format(t: OpTemplate, stack: Stack, engine: Engine, hw: HardwareSpec | None = None) -> str:
    """The number format op ``t`` runs in under ``stack`` (on ``engine``, or its fallback)."""
    return placement(t, stack, hw, engine).format


def placed_elsewhere(templates, hw: HardwareSpec, stack: Stack, engine: Engine) -> dict[str, tuple[str, ...]]:
    """Fallback engine name -> the op names placed on it (empty when all run on ``engine``)."""
    out: dict[str, list[str]] = {}
    for t in templates:
        p = placement(t, stack, hw, engine)
        if p.engine.name != engine.name:
            out.setdefault(p.engine.name, []).append(t.name)
    return {k: tuple(v) for k, v in out.items()}


def machine(hw: HardwareSpec, stack: Stack, engine: Engine) -> Machine:
    """The roofline ``Machine`` of ``engine`` of ``hw`` under ``stack``."""
    mem = hw.memory(engine.memory)
    where: dict[tuple, Placement] = {}       # memo: placement depends on (class, formats) only

    def place(t: OpTemplate) -> Placement:
        key = (t.op_class, t.compute, t.weight_format)
        if key not in where:
            where[key] = placement(t, stack, hw, engine)
        return where[key]

    def fmt_for(t: OpTemplate) -> str:
        return place(t).format

    def peak_for(t: OpTemplate) -> float:
        return place(t).peak / dequant_factor(stack, t)

    return Machine(bandwidth_Bps=mem.bandwidth_Bps, peak_for=peak_for,
                   bandwidth_eff=bandwidth_fractions(stack, engine, mem.bandwidth_Bps),
                   compute_eff=stack.compute_efficiency, kernel_overhead_s=stack.kernel_overhead_s,
                   step_overhead_s=stack.step_overhead_s, format_for=fmt_for,
                   cap_for=_matmul_cap(stack, hw, engine, place), tile_rows=stack.matmul_tile_rows,
                   bandwidth_rate_cap=stack.bandwidth_mode is BandwidthMode.RATE_CAP,
                   expert_kernels=stack.expert_kernels)


def issue_rate(stack: Stack, engine: Engine) -> float | None:
    """Matmul ops/s ``engine`` can issue under ``stack`` (``matmul_unit_rate x units x
    clock``), or None when the stack or the engine does not say."""
    if stack.matmul_unit_rate is None or not engine.units or not engine.clock_hz:
        return None
    return stack.matmul_unit_rate * engine.units * engine.clock_hz


FLOAT_WEIGHTS = frozenset({"f16", "bf16", "f32", "f64"})     # weight formats a matmul reads as they are


def dequant_factor(stack: Stack, t: OpTemplate) -> float:
    """How much a stack's ``dequant_cost`` lowers a matmul's peak: ``1 + compute_efficiency
    x dequant_cost`` for a matmul of quantized weights (so its time at the achieved rate is
    ``flops / (efficiency x peak) + dequant_cost x flops / peak``: the weights unpacked into
    the compute format once per GEMM tile, on the same ALUs), 1 otherwise."""
    if (stack.dequant_cost is None or t.op_class is not OpClass.MATMUL or t.weight_format is None
            or t.weight_format in FLOAT_WEIGHTS):
        return 1.0
    return 1.0 + stack.compute_efficiency["matmul"] * stack.dequant_cost


def bandwidth_fractions(stack: Stack, engine: Engine, bandwidth_Bps: float):
    """The stack's bandwidth fractions per op class on ``engine``, each capped at
    ``memory_unit_rate x units x clock / bandwidth_Bps`` when the stack and the engine give
    all three (module docstring); the stack's own fractions otherwise."""
    if stack.memory_unit_rate is None or not engine.units or not engine.clock_hz:
        return stack.bandwidth
    cap = stack.memory_unit_rate * engine.units * engine.clock_hz / float(bandwidth_Bps)
    return MappingProxyType({k: min(v, cap) for k, v in stack.bandwidth.items()})


# tf32 is priced as an fp32 MAC (assumed: its operands arrive as fp32 and the cost tables
# have no tf32 multiplier row).
_MAC_LAYOUT = {"tf32": "fp32"}


def _priced(fmt: str) -> bool:
    c = COMPUTE[fmt]
    return c.int_bits is not None or c.layout is not None


@functools.lru_cache(maxsize=None)
def _mac_pJ(fmt: str, node_nm: int) -> float:
    """The energy per op of the MAC ``simlow.cost`` prices for compute format ``fmt``:
    ``int_bits`` x ``int_bits`` into 32 bits, or the float layout into an fp32 accumulator."""
    from simlow.cost import FpMac, IntMac, Tech, unit_cost

    c = COMPUTE[fmt]
    unit = (IntMac(c.int_bits, c.int_bits, 32) if c.int_bits is not None
            else FpMac(_MAC_LAYOUT.get(fmt, c.layout.event_name), "fp32"))
    return unit_cost(unit, Tech(node_nm)).energy_pJ_per_op


def mac_energy_per_op(hw: HardwareSpec, fmt: str) -> float | None:
    """Joules per op (half a MAC) of one MAC of ``fmt`` at ``hw``'s process node, or None
    when the spec gives no node or simlow prices no MAC for ``fmt``. The node is rounded
    to whole nm and clamped to the cost tables' 3-45 nm."""
    if hw.node_m is None or fmt not in COMPUTE or not _priced(fmt):
        return None
    node = int(min(45, max(3, round(hw.node_m * 1e9))))
    return _mac_pJ(fmt, node) * 1e-12 / 2.0


def power_rate(stack: Stack, hw: HardwareSpec, fmt: str | None = None) -> float | None:
    """Matmul ops/s the board's TDP sustains under ``stack`` for a matmul run in ``fmt``:
    ``tdp / matmul_energy``, or ``tdp / (matmul_energy_scale x mac_energy_per_op)``; None
    when the stack gives neither (or, for the scale, the spec no node / ``fmt`` no MAC)."""
    if stack.matmul_energy_J is not None:
        return hw.power.tdp_w / stack.matmul_energy_J
    if stack.matmul_energy_scale is None or fmt is None:
        return None
    mac = mac_energy_per_op(hw, fmt)
    return None if mac is None else hw.power.tdp_w / (stack.matmul_energy_scale * mac)


def _matmul_cap(stack: Stack, hw: HardwareSpec, engine: Engine, place):
    """Matmul ceilings; the issue rate is the stack's kernels on its own engine, so a matmul
    placed on the fallback engine gets only the board's power ceiling."""
    issue = issue_rate(stack, engine)
    if issue is None and stack.matmul_energy_J is None and stack.matmul_energy_scale is None:
        return None

    def cap(t: OpTemplate):
        if t.op_class is not OpClass.MATMUL:
            return np.inf
        p = place(t)
        own = issue if p.engine.name == engine.name else None
        rates = [r for r in (own, power_rate(stack, hw, p.format)) if r is not None]
        return min(rates) if rates else np.inf

    return cap
