"""OCP MX formats and NVFP4 against NumPy + ml_dtypes ports of the spec / torchao."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from simlow.quant import quantize
from simlow.quant.mx import MXFP4_OCP, MXFP6_E2M3, MXFP6_E3M2, MXFP8_E4M3, MXFP8_E5M2

from .conftest import same_floats


def _blocks(rng):
    x = rng.standard_normal((64, 128)).astype(np.float32)
    x *= rng.choice(np.array([2.0 ** -140, 2.0 ** -20, 1.0, 2.0 ** 30], np.float32), (64, 1))
    x[0, :32] = 0.0
    x[1, :32] = np.float32(2.0 ** -149)                 # subnormal block
    x[2] = np.round(x[2] * 8) / 8                       # ties
    return x


def _mx_reference(x, fmt):
    """Spec Algorithm 1 with exact float64 scaling and an ml_dtypes RNE cast (saturating)."""
    b = x.reshape(-1, 32).astype(np.float64)
    amax = np.abs(b).max(-1, keepdims=True)
    shared = np.where(amax > 0, np.floor(np.log2(np.where(amax > 0, amax, 1))) - fmt.elem.emax, -127)
    shared = np.clip(shared, -127, 127)
    v = np.clip(b / 2.0 ** shared, -fmt.elem.max_value, fmt.elem.max_value)
    # v is exact in float64; its float32 rounding is exact unless it is far below the
    # element's smallest subnormal, where both roundings give (signed) zero.
    dt = getattr(ml_dtypes, fmt.elem.ml_dtype)
    codes = v.astype(np.float32).astype(dt)
    vals = (codes.astype(np.float64) * 2.0 ** shared).astype(np.float32)
    return codes.view(np.uint8).reshape(x.shape), (shared + 127).astype(np.uint8), vals.reshape(x.shape)


@pytest.mark.parametrize("fmt", [MXFP8_E4M3, MXFP8_E5M2, MXFP6_E3M2, MXFP6_E2M3, MXFP4_OCP],
                         ids=lambda f: f.name)
def test_mx_equals_reference(fmt):
    x = _blocks(np.random.default_rng(12))
    q = quantize(x, fmt)
    codes, scales, vals = _mx_reference(x, fmt)
    assert np.array_equal(np.asarray(q.codes), codes)
    assert np.array_equal(np.asarray(q.scales).reshape(-1, 1), scales)
    assert same_floats(q.dequantize(), vals)


def test_mxint8_equals_int64_reference():
    x = _blocks(np.random.default_rng(13))
    q = quantize(x, "mxint8")
    b = x.reshape(-1, 32).astype(np.float64)
    amax = np.abs(b).max(-1, keepdims=True)
    shared = np.where(amax > 0, np.floor(np.log2(np.where(amax > 0, amax, 1))), -127)
    shared = np.clip(shared, -127, 127)
    ref = np.clip(np.round(b / 2.0 ** shared * 64), -127, 127).astype(np.int64)   # np.round = RNE
    assert np.array_equal(np.asarray(q.codes).reshape(ref.shape).astype(np.int64), ref)
    vals = (ref * 2.0 ** (shared - 6)).astype(np.float32).reshape(x.shape)
    assert same_floats(q.dequantize(), vals)


def test_nvfp4_equals_numpy_port_of_torchao():
    rng = np.random.default_rng(14)
    x = (rng.standard_t(3, (16, 64)) * 0.02).astype(np.float32)
    x[0, :16] = 0.0
    q = quantize(x, "nvfp4")
    f32 = np.float32
    pts = np.abs(x).max() / f32(2688.0)
    s = np.clip(np.abs(x.reshape(-1, 16)).max(-1, keepdims=True) / f32(6.0) / pts, f32(2.0 ** -6), f32(448))
    s8 = s.astype(ml_dtypes.float8_e4m3fn)
    total = pts * s8.astype(np.float32)
    e2 = np.clip(x.reshape(-1, 16) / total, -6, 6).astype(ml_dtypes.float4_e2m1fn)
    assert np.array_equal(np.asarray(q.scales).reshape(-1, 1), s8.view(np.uint8))
    assert np.array_equal(np.asarray(q.codes).reshape(-1, 16), e2.view(np.uint8))
    assert same_floats(q.dequantize(), (e2.astype(np.float32) * total).reshape(x.shape))
    assert q.bits_per_weight == 4.5
