"""simlow: what a low-bit design choice buys on given hardware.

Public face (see README.md):

    hw = simlow.load_hw("h100-sxm")
    m = simlow.load_model("llama-2-7b")
    f = simlow.fit(m, hw, scheme="q4_0", ctx=4096)

``simlow.quant`` and ``simlow.datapath`` (JAX) are imported on first use, so the
performance model and the CLI start without loading JAX.
"""

from __future__ import annotations

import importlib

from simlow.errors import SimlowError

__version__ = "0.1.0"

_LAZY_MODULES = ("quant", "datapath", "cost")

__all__ = ["SimlowError", "__version__", *_LAZY_MODULES]


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"simlow.{name}")
    raise AttributeError(f"module 'simlow' has no attribute {name!r}")
