"""The division check rides in the block kernel: a fresh process's first quantize compiles
one XLA module (the kernel, with the probe's divisions inside), and a process whose XLA
divides inexactly is still refused by ``quantize``, not only by ``division_is_exact``."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest

from .test_env_flags import FAST_MATH, _run

_INEXACT = FAST_MATH + " --xla_cpu_fast_math_honor_division=false"

_FIRST = """
import numpy as np
from jax import monitoring
seen = []
monitoring.register_event_duration_secs_listener(
    lambda e, s, **_: seen.append(e) if e == "/jax/core/compile/backend_compile_duration" else None)
from simlow.quant import quantize
x = np.random.default_rng(3).standard_normal((64, 256)).astype(np.float32)
quantize(x, "q4_0").to_bytes()
print("COMPILES", len(seen))
"""

_REFUSED = """
import numpy as np
from simlow.errors import SimlowError
from simlow.quant import quantize
try:
    quantize(np.ones((4, 64), np.float32), "q4_1")
    print("RESULT returned")
except SimlowError as e:
    print("RESULT refused:", e)
"""


def test_first_quantize_in_a_fresh_process_compiles_one_module():
    assert "COMPILES 1" in _run("", _FIRST)


def test_quantize_refuses_inexact_division():
    jaxlib = tuple(int(p) for p in re.findall(r"\d+", version("jaxlib"))[:3])
    if jaxlib < (0, 7, 1):
        pytest.skip(f"jaxlib {version('jaxlib')} ignores --xla_cpu_fast_math_honor_division=false")
    out = _run(_INEXACT, _REFUSED)
    assert "RESULT refused: XLA float32 division is not exact" in out, out
