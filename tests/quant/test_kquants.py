"""K-quants Q2_K..Q6_K: dequantize equal to gguf-py's on random bytes (quantize: test_kquant_quantize.py)."""

from __future__ import annotations

import numpy as np
import pytest
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize as gguf_dequantize

from simlow.errors import SimlowError
from simlow.quant import from_bytes, quantize

from .conftest import same_floats

KQ = ["q2_k", "q3_k", "q4_k", "q5_k", "q6_k"]


@pytest.mark.parametrize("name", KQ)
def test_dequantize_equals_gguf(name):
    qtype = T[name.upper()]
    type_size = GGML_QUANT_SIZES[qtype][1]
    rng = np.random.default_rng(8)
    raw = rng.integers(0, 256, (6, 2 * type_size), dtype=np.uint8)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = gguf_dequantize(raw, qtype)
    q = from_bytes(raw.tobytes(), name, (6, 512))
    assert same_floats(q.dequantize(), ref)
    assert q.to_bytes() == raw.tobytes()
    assert q.codes.dtype == np.int8


def test_kquant_quantize_checks_its_input():
    with pytest.raises(SimlowError, match="multiple of the block size 256"):
        quantize(np.zeros((1, 100), np.float32), "q4_k")
    with pytest.raises(SimlowError, match="NaN or inf"):
        quantize(np.full((1, 256), np.inf, np.float32), "q6_k")
