"""GGUF MXFP4, TQ1_0, TQ2_0: bytes equal to gguf-py, dequantize equal on random bytes.

MXFP4 is also tested against the exact reference (``test_block_oracle.py``). gguf-py
versions measured: 0.18.0 and 0.19.0 agree on every input here. Known difference, in every
version: gguf takes the exponent from float32 ``np.log2``, which rounds up for amax 1-7 ulps
below 2**k (k >= 3; e.g. amax 0x417fffff = 15.999999: gguf e = 129, exact floor 128), so
those inputs are nudged away (``_away_from_log2_hazard``); 0.17.x has no MXFP4."""

from __future__ import annotations

import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import dequantize as gguf_dequantize
from gguf.quants import quantize as gguf_quantize

from simlow.quant import from_bytes, quantize

from .conftest import gguf_test_tensors, same_floats


def _away_from_log2_hazard(x: np.ndarray) -> np.ndarray:
    """Nudge block maxima that sit 1-8 ulps below a power of two (gguf's float32 log2 hazard)."""
    blocks = x.reshape(-1, 32)
    amax = np.abs(blocks).max(-1)
    m = amax.view(np.uint32) & 0x7FFFFF
    near = m >= 0x7FFFF0
    blocks[near] *= np.float32(0.99)
    return blocks.reshape(x.shape)


@pytest.mark.parametrize("name", ["mxfp4", "tq1_0", "tq2_0"])
def test_bytes_equal_gguf(name):
    qtype = T[name.upper()]
    rng = np.random.default_rng(10)
    tensors = gguf_test_tensors(rng) + [(rng.integers(-1, 2, (48, 256)) * 0.37).astype(np.float32)]
    for x in tensors:
        x = _away_from_log2_hazard(x.copy())
        ref = gguf_quantize(x, qtype)
        q = quantize(x, name)
        assert q.to_bytes() == ref.tobytes()
        assert same_floats(q.dequantize(), gguf_dequantize(ref, qtype))
        assert from_bytes(ref, name, x.shape).to_bytes() == ref.tobytes()


@pytest.mark.parametrize("name", ["mxfp4", "tq1_0", "tq2_0"])
def test_dequantize_random_bytes(name):
    qtype = T[name.upper()]
    rng = np.random.default_rng(11)
    nbytes = len(quantize(np.zeros((1, 256), np.float32), name).to_bytes())
    raw = rng.integers(0, 256, (8, 2 * nbytes), dtype=np.uint8)
    with np.errstate(all="ignore"):
        ref = gguf_dequantize(raw, qtype)
    q = from_bytes(raw, name, (8, 512))
    assert same_floats(q.dequantize(), ref)
    if name != "tq1_0":   # a random TQ1_0 byte is not always a canonical ceil(q*256/243)
        assert q.to_bytes() == raw.tobytes()


def test_mxfp4_tie_rule_and_exact_exponent():
    # E2M1 units with amax = 6 -> e = 2 + 125, d = 0.5 * 2**0 ... values are in units of 2**0.
    x = np.zeros((1, 32), np.float32)
    x[0, :6] = [6.0, 0.75, 1.75, 2.5, -0.1, 3.5]
    q = quantize(x, "mxfp4")
    vals = np.asarray(q.dequantize())[0, :6]
    assert vals.tolist() == [6.0, 0.5, 1.5, 2.0, 0.0, 3.0]       # ties to the smaller magnitude
    assert np.asarray(q.codes)[0, 4] == 0                        # -0.1 -> +0
    below = np.float32(np.nextafter(np.float32(16), np.float32(0)))
    y = np.zeros((1, 32), np.float32)
    y[0, 0] = below
    assert int(quantize(y, "mxfp4").scales[0, 0]) == 3 - 2 + 127  # exact floor(log2) = 3


def test_mxfp4_tiny_and_subnormal_blocks():
    """Subnormal blocks (XLA flushes them; gguf keeps them) and gguf's uint8 wrap of e < 0."""
    rng = np.random.default_rng(15)
    for scale in (2.0 ** -126, 2.0 ** -140):
        x = rng.standard_normal((64, 32)).astype(np.float32) * np.float32(scale)
        x[0] = 0.0
        with np.errstate(all="ignore"):
            ref = gguf_quantize(x, T.MXFP4)
        assert quantize(x, "mxfp4").to_bytes() == ref.tobytes()
