"""K-quant quantization equals llama.cpp's reference quantizer byte for byte.

The oracle is recorded output of llama.cpp's own C code (``quantize_row_q*_K_ref`` of
ggml-quants.c, see tests/vectors/README.md): gguf-py 0.19 implements no K-quant quantizer,
so nothing installed can recompute it. The inputs cover Gaussian, heavy-tailed, one-signed,
sparse / constant / all-zero, outlier, tiny and on-grid blocks and rows of a real weight
matrix (SmolLM2-135M blk.3.attn_q, dequantized from the Q4_1 file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import dequantize as gguf_dequantize

from simlow.quant import quantize

from .conftest import same_floats

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "kquant_ref_vectors.npz"
KQ = ["q2_k", "q3_k", "q4_k", "q5_k", "q6_k"]


@pytest.fixture(scope="module")
def vectors():
    with np.load(VECTORS) as v:
        return {k: v[k] for k in v.files}


def _cases(v):
    return sorted(k[2:] for k in v if k.startswith("x_"))


@pytest.mark.parametrize("name", KQ)
def test_quantize_equals_llama_cpp_reference_bytes(vectors, name):
    for case in _cases(vectors):
        x = vectors[f"x_{case}"]
        q = quantize(x, name)
        want = vectors[f"{name}_{case}"]
        got = np.frombuffer(q.to_bytes(), np.uint8).reshape(want.shape)
        bad = np.nonzero((got != want).any(axis=1))[0]
        assert bad.size == 0, f"{name} {case}: blocks {bad.tolist()} differ from llama.cpp"


@pytest.mark.parametrize("name", KQ)
def test_quantized_values_are_what_gguf_reads_and_close_to_the_input(vectors, name):
    x = vectors["x_gauss"]
    q = quantize(x.reshape(2, -1), name)
    ref = gguf_dequantize(np.frombuffer(q.to_bytes(), np.uint8).reshape(2, -1), T[name.upper()])
    assert same_floats(q.dequantize(), ref)
    rel = np.sqrt(np.mean((np.asarray(ref, np.float64).ravel() - x.ravel()) ** 2) / np.mean(x.astype(np.float64) ** 2))
    bits = int(name[1])
    assert rel < 2.0 ** (1 - bits)      # a sanity bound (uniform b-bit grid over ~4 sigma), not a target


def test_shape_is_kept():
    x = np.random.default_rng(1).standard_normal((3, 2, 512)).astype(np.float32)
    q = quantize(x, "q4_k")
    assert q.shape == (3, 2, 512) and q.dequantize().shape == (3, 2, 512)
