"""Results do not depend on XLA_FLAGS a user would not know to set: fast-math switches give
the same bytes as gguf-py, and the one switch that breaks division is refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAST_MATH = ("--xla_cpu_enable_fast_math=true --xla_cpu_fast_math_honor_nans=false "
             "--xla_cpu_fast_math_honor_infs=false --xla_cpu_fast_math_honor_functions=false "
             "--xla_cpu_enable_fast_min_max=true")

_SCRIPT = """
import numpy as np
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import quantize as gq
from simlow.quant import quantize
rng = np.random.default_rng(5)
x = rng.standard_normal((64, 256)).astype(np.float32) * rng.choice([1e-3, 1.0, 300.0], (64, 1)).astype(np.float32)
x[::3] = np.round(x[::3] * 8) / 4
bad = [n for n in ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "mxfp4", "tq2_0")
       if quantize(x, n).to_bytes() != gq(x, T[n.upper()]).tobytes()]
print("BAD", bad)
"""


def _run(flags: str, script: str) -> str:
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    return out.stdout + out.stderr


def test_fast_math_flags_do_not_change_bytes():
    assert "BAD []" in _run(FAST_MATH, _SCRIPT)


_EXACT = "from simlow.quant._blocks import division_is_exact; print('EXACT', division_is_exact())"


def test_inexact_division_is_detected():
    # Before jaxlib 0.7.1 XLA ignores the flag: division stays correctly rounded, so there is
    # nothing to detect (measured with division_is_exact's probe under these flags: exact on
    # jaxlib 0.4.33, 0.4.36, 0.5.0, 0.6.0, 0.7.0; inexact on 0.7.1, 0.7.2, 0.8.0).
    jaxlib = tuple(int(p) for p in re.findall(r"\d+", version("jaxlib"))[:3])
    if jaxlib < (0, 7, 1):
        pytest.skip(f"jaxlib {version('jaxlib')} ignores --xla_cpu_fast_math_honor_division=false "
                    "(division stays exact before 0.7.1)")
    assert "EXACT False" in _run(FAST_MATH + " --xla_cpu_fast_math_honor_division=false", _EXACT)


def test_division_is_exact_by_default():
    assert "EXACT True" in _run("", _EXACT)
