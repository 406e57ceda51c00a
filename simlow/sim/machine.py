"""Resolving a device and a software stack into the rates the roofline uses.

The engine is the first engine of the stack's kind (``gpu``, ``npu``, ``cpu``) unless one
is named. Its bandwidth is the peak bandwidth of the memory it reads weights from; its peak
for an op is the rate of the format the op actually runs in under the stack (native, or
dequantized: ``Stack.compute_format``). Vector ops run in fp32 (or the engine's fastest
float format when it lists no fp32 rate). Matmuls are capped at the stack's
``matmul_unit_rate`` x the engine's ``units`` x ``clock`` when the stack and the engine give
all three, and at the device's TDP / the stack's ``matmul_energy`` when both are given
(``Stack`` docstring); otherwise at their share of the format peak only.
"""

from __future__ import annotations

import numpy as np

from simlow.errors import SimlowError
from simlow.graph import OpClass, OpTemplate
from simlow.sim.roofline import Machine
from simlow.sim.stacks import Stack
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


def run_format(t: OpTemplate, stack: Stack, engine: Engine) -> str:
    """The number format op ``t`` runs in on ``engine`` under ``stack``."""
    if t.op_class in (OpClass.MATMUL, OpClass.ATTENTION):
        return stack.compute_format(t.compute, engine)
    for fmt in ("fp32", "fp16", "bf16"):
        if engine.peak(fmt) > 0:
            return fmt
    return max(engine.peak_ops, key=engine.peak_ops.get)


def machine(hw: HardwareSpec, stack: Stack, engine: Engine) -> Machine:
    """The roofline ``Machine`` of ``engine`` of ``hw`` under ``stack``."""
    mem = hw.memory(engine.memory)

    def fmt_for(t: OpTemplate) -> str:
        return run_format(t, stack, engine)

    def peak_for(t: OpTemplate) -> float:
        return engine.peak(fmt_for(t))

    return Machine(bandwidth_Bps=mem.bandwidth_Bps, peak_for=peak_for, bandwidth_eff=stack.bandwidth,
                   compute_eff=stack.compute_efficiency, kernel_overhead_s=stack.kernel_overhead_s,
                   step_overhead_s=stack.step_overhead_s, format_for=fmt_for,
                   cap_for=_matmul_cap(stack, hw, engine))


def issue_rate(stack: Stack, engine: Engine) -> float | None:
    """Matmul ops/s ``engine`` can issue under ``stack`` (``matmul_unit_rate x units x
    clock``), or None when the stack or the engine does not say."""
    if stack.matmul_unit_rate is None or not engine.units or not engine.clock_hz:
        return None
    return stack.matmul_unit_rate * engine.units * engine.clock_hz


def power_rate(stack: Stack, hw: HardwareSpec) -> float | None:
    """Matmul ops/s the board's TDP sustains under ``stack`` (``tdp / matmul_energy``), or
    None when the stack gives no energy per op."""
    if stack.matmul_energy_J is None:
        return None
    return hw.power.tdp_w / stack.matmul_energy_J


def _matmul_cap(stack: Stack, hw: HardwareSpec, engine: Engine):
    rates = [r for r in (issue_rate(stack, engine), power_rate(stack, hw)) if r is not None]
    if not rates:
        return None
    rate = min(rates)
    return lambda t: rate if t.op_class is OpClass.MATMUL else np.inf
