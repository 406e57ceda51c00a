"""GGUF block quantizers compile a fixed set of kernels: after a warm-up, quantizing,
packing, unpacking and dequantizing tensors of shapes never seen before compiles nothing,
and the bytes stay gguf-py's."""

from __future__ import annotations

import contextlib

import jax
import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import quantize as gguf_quantize
from jax import monitoring

from simlow.quant import from_bytes, quantize
from simlow.quant._blocks import chunk_rows, plan

from .conftest import same_floats

# The event JAX records once per XLA backend compile (jax 0.4.30 through 0.10).
_COMPILE = "/jax/core/compile/backend_compile_duration"


def _unregister(cb) -> None:
    fn = getattr(monitoring, "unregister_event_duration_listener", None)   # jax >= 0.4.36
    if fn is None:                                                         # jax 0.4.30
        from jax._src import monitoring as _m
        fn = _m._unregister_event_duration_listener_by_callback
    fn(cb)


@contextlib.contextmanager
def compiles():
    """A list that collects one entry per XLA compile while the block runs."""
    seen: list[float] = []

    def cb(event, duration, **_):
        if event == _COMPILE:
            seen.append(duration)

    monitoring.register_event_duration_secs_listener(cb)
    try:
        yield seen
    finally:
        _unregister(cb)


def _exercise(x: np.ndarray, name: str) -> None:
    q = quantize(x, name)
    raw = q.to_bytes()
    assert raw == gguf_quantize(x, T[name.upper()]).tobytes()
    back = from_bytes(raw, name, x.shape)
    assert same_floats(back.dequantize(), q.dequantize())
    assert np.array_equal(np.asarray(back.codes), np.asarray(q.codes))
    assert back.to_bytes() == raw        # packs from codes and scales (not from stored bytes)
    assert np.asarray(q.codes).shape == x.shape


def test_the_counter_sees_a_compile():
    with compiles() as seen:
        jax.jit(lambda v: v * 3 + 1)(np.arange(7, dtype=np.float32)).block_until_ready()
    assert len(seen) == 1


def test_plan_covers_every_row_once_in_chunks_of_one_size():
    cap = chunk_rows(32)
    for n in (1, cap - 1, cap, cap + 1, 5 * cap + 77):
        chunks = plan(n, cap)
        assert [lo for lo, _ in chunks] == [0] + [hi for _, hi in chunks[:-1]]
        assert chunks[-1][1] == n
        assert all(hi - lo == cap for lo, hi in chunks[:-1]) and 0 < chunks[-1][1] - chunks[-1][0] <= cap


@pytest.mark.parametrize("name", ["q4_0", "q5_1", "mxfp4", "tq1_0"])
def test_new_shapes_compile_nothing_after_warm_up(name):
    rng = np.random.default_rng(11)
    block = 256 if name.startswith("tq") else 32
    # Warm-up: one small tensor runs every path (quantize, pack, unpack, dequantize) once.
    warm = rng.standard_normal((3, 4096)).astype(np.float32)
    warm[0, :64] = 0.0
    _exercise(warm, name)
    shapes = [(5, 4096), (1, 8 * block), (300, 2048), (140, 4096), (3, 7, 4 * block), (2, 11008)]
    with compiles() as seen:
        for shape in shapes:
            x = (rng.standard_normal(shape) * rng.choice([1e-3, 1.0, 40.0], shape[:-1] + (1,))).astype(np.float32)
            x.reshape(-1, block)[::97] = 0.0
            _exercise(x, name)
            _exercise(x[..., block:], name)          # a strided view, copied
    assert seen == [], f"{len(seen)} compiles after warm-up"


def test_model_shape_bench_takes_the_models_own_shapes_and_refuses_bad_input(capsys):
    from simlow.bench.quant_model import distinct_shapes
    from simlow.cli import main
    assert distinct_shapes("llama-2-7b") == [(4096, 4096), (32000, 4096), (11008, 4096), (4096, 11008),
                                             (1, 8192), (1, 4096)]
    assert main(["bench", "quant", "--model-shapes", "no-such-model"]) == 2
    assert main(["bench", "quant", "--model-shapes", "llama-2-7b", "--formats", "q4_k"]) == 2
    assert main(["bench", "des", "--model-shapes", "llama-2-7b"]) == 2
    assert "valid: q4_0" in capsys.readouterr().err
