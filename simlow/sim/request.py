"""``Request``: every input of a prediction, resolved to specs and checked
(``simlow.sim.predict.resolve`` builds it; both fidelities consume it)."""

from __future__ import annotations

from dataclasses import dataclass

from simlow.sim.offload_spec import Offload
from simlow.sim.parallel import Parallel
from simlow.sim.stacks import Stack
from simlow.specs import HardwareSpec, ModelSpec, Scheme
from simlow.specs.hardware import Engine


@dataclass(frozen=True)
class Request:
    """Every input of a prediction, resolved and checked (what a fidelity consumes)."""

    model: ModelSpec
    hw: HardwareSpec
    scheme: Scheme
    stack: Stack
    engine: Engine
    batch: int
    prompt: int
    gen: int
    ctx: int
    depth: int
    routing: object
    ubatch: int = 512
    offload: Offload | None = None  # what is kept in host memory (DES only)
    prefetch: int = 0               # weight prefetch depth in ops (DES only)
    background: tuple = ()          # constant traffic on shared memories (DES only)
    scheme_notes: tuple = ()        # how the scheme was chosen (a .gguf file's own types...)
    parallel: Parallel | None = None  # several devices (tensor parallel / layer split); None: one
