"""Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: bytes equal to gguf-py's numpy quantizers, and dequantize
equal to gguf's on the same bytes and on random bytes.

The definition is tested against the exact reference in ``test_block_oracle.py``; this is
the agreement test. gguf-py versions measured: 0.18.0 and 0.19.0 agree on every input here
(no known difference); 0.17.0 / 0.17.1 cannot be used at all (no ``MXFP4`` type, which
``simlow.quant`` imports; 0.17.0 also needs sentencepiece)."""

from __future__ import annotations

import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import dequantize as gguf_dequantize
from gguf.quants import quantize as gguf_quantize

from simlow.errors import SimlowError
from simlow.quant import from_bytes, quantize

from .conftest import gguf_test_tensors, same_floats

LEGACY = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0"]


@pytest.mark.parametrize("name", LEGACY)
def test_bytes_equal_gguf(name):
    qtype = T[name.upper()]
    rng = np.random.default_rng(3)
    for x in gguf_test_tensors(rng) + gguf_test_tensors(rng):
        ref = gguf_quantize(x, qtype)
        q = quantize(x, name)
        assert q.to_bytes() == ref.tobytes()
        assert same_floats(q.dequantize(), gguf_dequantize(ref, qtype))


@pytest.mark.parametrize("name", LEGACY)
def test_dequantize_random_bytes(name):
    qtype = T[name.upper()]
    rng = np.random.default_rng(4)
    q0 = quantize(np.zeros((1, 32), np.float32), name)
    type_size = len(q0.to_bytes())
    raw = rng.integers(0, 256, (16, 8 * type_size), dtype=np.uint8)
    with np.errstate(invalid="ignore", over="ignore"):
        ref = gguf_dequantize(raw, qtype)
    q = from_bytes(raw.tobytes(), name, (16, 256))
    assert same_floats(q.dequantize(), ref)
    assert q.to_bytes() == raw.tobytes()


def test_code_layout_documented():
    x = np.arange(32, dtype=np.float32) - 16.0   # max |x| = -16 at index 0
    q = quantize(x[None], "q4_0")
    assert q.codes.dtype == np.int8
    assert int(q.codes.min()) >= -8 and int(q.codes.max()) <= 7
    assert float(q.scales[0, 0]) == 2.0          # d = max / -8 = -16 / -8
    q8 = quantize(np.array([[0.5] + [127.0] + [0.0] * 30], np.float32), "q8_0")
    assert int(q8.codes[0, 0]) == 1              # 0.5 / 1 -> 1: ties away from zero


def test_bad_shapes_are_errors():
    with pytest.raises(SimlowError, match="multiple of the block"):
        quantize(np.zeros((2, 30), np.float32), "q4_0")
    with pytest.raises(SimlowError, match="NaN or inf"):
        quantize(np.full((1, 32), np.nan, np.float32), "q8_0")
    with pytest.raises(SimlowError, match="bytes do not hold"):
        from_bytes(b"\x00" * 17, "q4_0", (1, 32))
    with pytest.raises(SimlowError, match="unknown quant format"):
        quantize(np.zeros((1, 32), np.float32), "q4_00")


def test_signed_ties_zero_signs_and_jax_input():
    # -min == max in a block (the first occurrence decides the sign of d), +-0 blocks, and a
    # JAX array input: the fast one-pass max must hand these to the exact path.
    import jax.numpy as jnp
    x = np.random.default_rng(6).standard_normal((6, 64)).astype(np.float32)
    x[0, :32], x[1, :32] = -0.0, 0.0
    x[2, 3], x[2, 9] = 9.0, -9.0
    x[3, 3], x[3, 9] = -9.0, 9.0
    for name in ("q4_0", "q5_0"):            # the two types with the one-pass signed max
        ref = gguf_quantize(x, T[name.upper()]).tobytes()
        assert quantize(x, name).to_bytes() == ref
        assert quantize(jnp.asarray(x), name).to_bytes() == ref
        assert quantize(x[:, 32:], name).to_bytes() == gguf_quantize(x[:, 32:], T[name.upper()]).tobytes()


def test_misaligned_views_and_chunk_boundaries():
    # The kernel aliases the 64-byte-aligned body of a NumPy buffer and stitches the first and
    # last block from the edges; big tensors are walked in in-kernel chunks. Cover several
    # element offsets s of the body (views starting 1, 3, 8, 15 floats in), a byte-misaligned buffer
    # (copied), and a tensor of several chunks.
    rng = np.random.default_rng(7)
    big = (rng.standard_normal((1025, 1056)) * rng.choice([1e-3, 1.0, 50.0], (1025, 1))).astype(np.float32)
    big[5, 64:96] = 0.0
    big[9, 3], big[9, 7] = -4.0, 4.0       # a +-tie in a block (fallback path)
    flat = big.reshape(-1)
    for name in ("q4_0", "q8_0"):
        qtype = T[name.upper()]
        x = big[1:]                           # > 2 chunks of 2**19 elements
        assert quantize(x, name).to_bytes() == gguf_quantize(x, qtype).tobytes()
    for off in (1, 3, 8, 15):                 # four different body offsets s, small tensors
        x = flat[off:off + 64 * 96].reshape(64, 96)
        assert quantize(x, "q4_0").to_bytes() == gguf_quantize(x, T.Q4_0).tobytes(), off
    raw = np.zeros(4 * 32 * 8 + 1, np.uint8)
    odd = np.frombuffer(raw.data, np.float32, count=32 * 8, offset=1).reshape(8, 32)
    odd[...] = rng.standard_normal((8, 32)).astype(np.float32)
    assert odd.ctypes.data % 4 and not odd.flags.aligned
    assert quantize(odd, "q8_0").to_bytes() == gguf_quantize(odd, T.Q8_0).tobytes()


def test_packed_qtensor_unpacks_exactly():
    # quantize() returns the bytes; codes and scales are unpacked from them on first access and
    # must equal an independent NumPy reading of gguf's bytes.
    x = np.random.default_rng(8).standard_normal((4, 64)).astype(np.float32)
    ref = gguf_quantize(x, T.Q4_0).reshape(-1, 18)
    q = quantize(x, "q4_0")
    d = ref[:, :2].copy().view(np.float16)
    codes = np.concatenate([ref[:, 2:] & 0x0F, ref[:, 2:] >> 4], axis=-1).astype(np.int8) - 8
    assert np.array_equal(np.asarray(q.scales).reshape(-1, 1).view(np.uint16), d.view(np.uint16))
    assert np.array_equal(np.asarray(q.codes).reshape(-1, 32), codes)
    assert np.asarray(q.codes).shape == x.shape and q.codes.dtype == np.int8
