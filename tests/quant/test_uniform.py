"""Uniform integer quantizers against an independent NumPy (float32 + int64) reference."""

from __future__ import annotations

import numpy as np
import pytest

from simlow.errors import SimlowError
from simlow.quant import get_format, quantize
from simlow.numerics import Rounding
from simlow.quant.uniform import Granularity, UniformInt

from .conftest import same_floats

_NP_ROUND = {
    Rounding.RNE: np.round,
    Rounding.HALF_AWAY: lambda v: np.sign(v) * np.floor(np.abs(v).astype(np.float64) + 0.5),
    Rounding.HALF_UP: lambda v: np.floor(v.astype(np.float64) + 0.5),
    Rounding.HALF_DOWN: lambda v: np.ceil(v.astype(np.float64) - 0.5),
    Rounding.HALF_TO_ZERO: lambda v: np.sign(v) * np.ceil(np.abs(v).astype(np.float64) - 0.5),
}


def _reference(x: np.ndarray, fmt: UniformInt):
    """NumPy port of the documented formulas (float64 + 0.5 is exact for float32 v)."""
    g = {Granularity.TENSOR: x.reshape(1, -1), Granularity.CHANNEL: x.reshape(-1, x.shape[-1]),
         Granularity.GROUP: x.reshape(-1, fmt.group or 1)}[fmt.granularity]
    rnd = _NP_ROUND[fmt.rounding]
    if fmt.symmetric:
        qmax = 2 ** (fmt.bits - 1) - 1
        s = (np.abs(g).max(-1, keepdims=True) / np.float32(qmax)).astype(np.float16).astype(np.float32)
        q = np.clip(rnd(g / np.where(s == 0, 1, s)), -qmax, qmax).astype(np.int64)
        q = np.where(s == 0, 0, q)
        return q, s, (s * q.astype(np.float32)).reshape(x.shape)
    maxq = 2 ** fmt.bits - 1
    xmin, xmax = np.minimum(g.min(-1, keepdims=True), 0), np.maximum(g.max(-1, keepdims=True), 0)
    z = (xmin == 0) & (xmax == 0)
    xmin, xmax = np.where(z, -1, xmin).astype(np.float32), np.where(z, 1, xmax).astype(np.float32)
    s = ((xmax - xmin) / np.float32(maxq)).astype(np.float16).astype(np.float32)
    zero = np.clip(rnd(-xmin / s), 0, maxq).astype(np.int64)
    q = np.clip(rnd(g / s).astype(np.int64) + zero, 0, maxq)
    return q, s, (s * (q - zero).astype(np.float32)).reshape(x.shape)


CASES = [UniformInt(b, sym, gran, grp, rnd)
         for b in (2, 3, 4, 8) for sym in (True, False)
         for gran, grp in ((Granularity.TENSOR, 0), (Granularity.CHANNEL, 0), (Granularity.GROUP, 32))
         for rnd in (Rounding.RNE,)] + \
        [UniformInt(4, sym, Granularity.GROUP, 64, rnd) for sym in (True, False) for rnd in Rounding]


@pytest.mark.parametrize("fmt", CASES, ids=lambda f: f.name)
def test_uniform_equals_numpy_reference(fmt):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((8, 128)).astype(np.float32)
    x[0] = np.round(x[0] * 4) / 4            # many exact ties at low bit widths
    x[1, :64] = 0.0                           # zero groups
    x[2] = np.abs(x[2])                       # one-sided rows
    q = quantize(x, fmt)
    rq, rs, ry = _reference(x, fmt)
    assert np.array_equal(np.asarray(q.codes).reshape(rq.shape).astype(np.int64), rq)
    assert np.array_equal(np.asarray(q.scales).astype(np.float32), rs)
    assert same_floats(q.dequantize(), ry)


def test_tie_rules_on_exact_ties():
    v = np.array([[-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 7.0]], np.float32)  # scale = 1
    expect = {Rounding.RNE: [-2, -2, 0, 0, 2, 2, 4, 7], Rounding.HALF_AWAY: [-3, -2, -1, 1, 2, 3, 4, 7],
              Rounding.HALF_UP: [-2, -1, 0, 1, 2, 3, 4, 7], Rounding.HALF_DOWN: [-3, -2, -1, 0, 1, 2, 3, 7],
              Rounding.HALF_TO_ZERO: [-2, -1, 0, 0, 1, 2, 3, 7]}
    for rnd, want in expect.items():
        q = quantize(v, UniformInt(4, True, Granularity.TENSOR, 0, rnd))
        assert np.asarray(q.codes).tolist()[0] == want, rnd


def test_aliases_and_errors():
    assert get_format("w4g128").name == "int4_asym_g128"
    assert get_format("int8").storage == "int8"
    with pytest.raises(SimlowError, match="bits must be 2..8"):
        UniformInt(9)
    with pytest.raises(SimlowError, match="multiple of the group"):
        quantize(np.zeros((2, 100), np.float32), "int4_sym_g32")
