"""K-quants Q2_K..Q6_K: dequantize equal to gguf-py's on random bytes."""

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


def test_kquant_quantize_says_why():
    with pytest.raises(SimlowError, match="not implemented"):
        quantize(np.zeros((1, 256), np.float32), "q4_k")
