"""simlow: what a low-bit design choice buys on given hardware.

Public face (see README.md and DESIGN.md)::

    hw = simlow.load_hw("h100-sxm")
    m = simlow.load_model("llama-2-7b")
    f = simlow.fit(m, hw, scheme="q4_0", ctx=4096)
    p = simlow.predict(m, hw, scheme="q4_0", batch=1, prompt=512, gen=128)
    s = simlow.simulate_serving(m, hw, scheme="f16", rate=10, requests=1000)
    simlow.check_claims("workloads/claims/seeds.yaml")

``simlow.quant`` and ``simlow.datapath`` (JAX) and the other heavier parts are imported on
first use, so the CLI and the performance model start without loading JAX.
"""

from __future__ import annotations

import importlib

from simlow.errors import SimlowError
from simlow.memory import fit
from simlow.specs import load_hw, load_model, load_scheme

__version__ = "0.1.0"

_LAZY_MODULES = ("quant", "datapath", "cost")
# Public functions that live in heavier modules: name -> module.
_LAZY_FUNCTIONS = {"predict": "simlow.sim", "simulate_serving": "simlow.serving", "check_claims": "simlow.claims", "report": "simlow.report",
                    "evaluate_design": "simlow.lm"}

__all__ = ["SimlowError", "__version__", "fit", "load_hw", "load_model", "load_scheme",
           *_LAZY_MODULES, *_LAZY_FUNCTIONS]


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"simlow.{name}")
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(_LAZY_FUNCTIONS[name]), name)
    raise AttributeError(f"module 'simlow' has no attribute {name!r}")
