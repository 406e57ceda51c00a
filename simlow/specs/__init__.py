"""Specs: hardware, model shapes and quantization schemes, validated at the boundary.

Layering: specs depend only on ``simlow.quantities``, ``simlow.formats`` and ``simlow.errors``;
everything downstream receives frozen spec objects, never raw dicts.
"""

from simlow.specs.hardware import Engine, EngineKind, HardwareSpec, Link, Memory, Power
from simlow.specs.model import ModelSpec, MoE, TensorClass, WeightTensor
from simlow.specs.registry import load_hw, load_model, load_scheme, names
from simlow.specs.scheme import Scheme

__all__ = [
    "Engine", "EngineKind", "HardwareSpec", "Link", "Memory", "Power",
    "ModelSpec", "MoE", "TensorClass", "WeightTensor", "Scheme",
    "load_hw", "load_model", "load_scheme", "names",
]
