"""The persistent compile cache is opt-in: off by default, and when a process opts in
(``enable_compile_cache``) a later process with the same directory loads the block kernel
from it instead of compiling, with the same bytes as gguf-py."""

from __future__ import annotations

import pytest

from simlow.errors import SimlowError
from simlow.quant import enable_compile_cache

from .test_env_flags import _run

_SCRIPT = """
import sys
import jax
import numpy as np
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import quantize as gq
from jax import monitoring
hits = []
monitoring.register_event_listener(lambda e, **_: hits.append(e) if e.endswith("/cache_hits") else None)
from simlow.quant import enable_compile_cache, quantize
if sys.argv[1:]:
    enable_compile_cache(sys.argv[1])
x = np.random.default_rng(4).standard_normal((96, 256)).astype(np.float32)
same = quantize(x, "q4_1").to_bytes() == gq(x, T.Q4_1).tobytes()
print("CACHE", jax.config.jax_compilation_cache_dir, "HITS", len(hits), "SAME", same)
"""


def test_off_by_default():
    assert "CACHE None HITS 0 SAME True" in _run("", _SCRIPT)


def test_a_second_process_loads_the_kernel_from_the_cache(tmp_path):
    script = _SCRIPT.replace("sys.argv[1:]", repr([str(tmp_path)])).replace("sys.argv[1]", repr(str(tmp_path)))
    first, second = _run("", script), _run("", script)
    assert f"CACHE {tmp_path} HITS 0 SAME True" in first, first
    # both of a first quantize's compiles come from the cache: the Q4_1 kernel and the
    # once-per-process division probe (``_blocks.division_is_exact``)
    assert f"CACHE {tmp_path} HITS 2 SAME True" in second, second
    assert any(tmp_path.iterdir())


def test_a_directory_that_cannot_be_made_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SimlowError, match="compile cache directory .*file"):
        enable_compile_cache(blocker / "sub")
    with pytest.raises(SimlowError, match="not a directory"):
        enable_compile_cache(blocker)
