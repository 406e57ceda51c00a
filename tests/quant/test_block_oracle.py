"""GGUF legacy types, GGUF MXFP4, the OCP MX formats and NVFP4 against the exact per-block
references of ``oracle_blocks.py`` on edge blocks (ties, zeros, all-equal, the largest
magnitude negative vs positive, f16-subnormal and f16-overflowing scales, float32
subnormals) and seeded random blocks: equal bytes and equal dequantized float32 bits."""

from __future__ import annotations

import numpy as np
import pytest

from simlow.quant import mx, quantize

from . import oracle, oracle_blocks as ob
from .conftest import same_floats

F = np.float32


def _edge_blocks(rng) -> np.ndarray:
    ramp = np.arange(32, dtype=F) - 16                     # -16 .. 15: the max |x| is negative
    halves = (np.arange(32, dtype=F) - 16) / 2             # x * id + 8.5 lands on integers
    rows = [
        np.zeros(32, F), -np.zeros(32, F), np.full(32, F(0.7)), np.full(32, F(-3.25)),
        ramp, -ramp, ramp[::-1].copy(), halves, halves + F(127) - halves.max(),
        np.r_[F(-9), np.zeros(30, F), F(9)], np.r_[F(9), np.zeros(30, F), F(-9)],
        np.r_[F(127), np.arange(31, dtype=F) + F(0.5)],   # Q8_0 d = 1: ties at k + 0.5
        np.r_[F(-127), -(np.arange(31, dtype=F) + F(0.5))],
        (np.arange(32, dtype=F) + 1) * F(2.0 ** -149),     # float32 subnormals
        (rng.standard_normal(32) * 2.0 ** -130).astype(F),
        (rng.standard_normal(32) * 2.0 ** -20).astype(F),  # f16-subnormal scales
        (rng.standard_normal(32) * 1e-30).astype(F),       # f16 scale 0
        (rng.standard_normal(32) * 65504 * 127 / 3).astype(F),
        np.r_[F(65504 * 8), rng.standard_normal(31).astype(F)],    # scale at the f16 max
        np.r_[F(65520 * 16), rng.standard_normal(31).astype(F)],   # rounds to f16 inf
        np.r_[F(3e38), rng.standard_normal(31).astype(F)],
        np.r_[F(8.0), np.full(31, F(np.nextafter(F(8), F(0))))],   # amax on / below 2**k
        np.r_[F(np.nextafter(F(16), F(0))), (rng.standard_normal(31)).astype(F)],
        np.r_[F(6.0), F(0.75), F(1.75), F(2.5), F(-0.1), F(3.5), np.zeros(26, F)],
    ]
    scales = rng.choice(np.array([1e-4, 1e-2, 1.0, 3.0, 1e3], F), (96, 1))
    rand = (rng.standard_normal((96, 32)) * scales).astype(F)
    ties = (np.round(rng.standard_normal((24, 32)) * 8) / 4).astype(F)
    return np.concatenate([np.stack(rows), rand, ties])


def _bits(x: np.ndarray) -> list[list[int]]:
    return x.view(np.uint32).tolist()


def _values_f32(vals) -> np.ndarray:
    return np.array([ob.f32_bits(v) for v in vals], np.uint32).view(F)


@pytest.mark.parametrize("name", ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "mxfp4"])
def test_gguf_blocks_equal_exact_reference(name):
    x = _edge_blocks(np.random.default_rng(21))
    if name in ("q4_1", "q5_1"):
        x = x[np.isfinite(x.max(1).astype(np.float64) - x.min(1))]   # max - min stays finite
    ref_bytes, ref_vals, keep = b"", [], []
    for i, block in enumerate(_bits(x)):
        try:
            raw, vals = ob.REFERENCES[name](block)
        except ob.Undefined:     # tiny amax: 1/d = inf, the C reference's int cast is UB
            continue
        keep.append(i)
        ref_bytes += raw
        ref_vals += vals
    assert len(keep) >= len(x) - 2
    x = x[keep]
    q = quantize(x, name)
    got = q.to_bytes()
    size = len(got) // len(x)
    bad = [i for i in range(len(x)) if got[i * size:(i + 1) * size] != ref_bytes[i * size:(i + 1) * size]]
    assert not bad, f"{len(bad)} blocks differ, first {bad[:5]}: {x[bad[0]].tolist()}"
    assert same_floats(np.asarray(q.dequantize()).reshape(-1), _values_f32(ref_vals))


MX = [(mx.MXFP8_E4M3, oracle.E4M3FN), (mx.MXFP8_E5M2, oracle.E5M2), (mx.MXFP6_E3M2, oracle.E3M2),
      (mx.MXFP6_E2M3, oracle.E2M3), (mx.MXFP4_OCP, oracle.E2M1), (mx.MXINT8, None)]


def _element_ties(spec, rng, n=16) -> np.ndarray:
    """Blocks of exact element midpoints (and their neighbours) times 2**s, amax = 2**emax."""
    if spec is None:
        mids = (np.arange(-127, 127) + 0.5) / 64
        emax = 0
    else:
        t = oracle.table(spec)
        v = np.array([float(k) / 2.0 ** oracle.SHIFT for k in t.keys])
        mids = (v[:-1] + v[1:]) / 2
        emax = (t.mags[-1] >> spec.mbits) - spec.bias
    out = []
    for _ in range(n):
        s = int(rng.integers(-120, 100))
        row = rng.choice(mids, 31) * rng.choice([-1.0, 1.0], 31)
        row = np.r_[2.0 ** emax, row] * 2.0 ** s
        out.append(row.astype(F))
    blocks = np.stack(out)
    return np.concatenate([blocks, np.nextafter(blocks, F(0)), np.nextafter(blocks, F(np.inf))])


@pytest.mark.parametrize("fmt, spec", MX, ids=lambda v: getattr(v, "name", ""))
def test_mx_blocks_equal_exact_reference(fmt, spec):
    rng = np.random.default_rng(22)
    x = _edge_blocks(rng)
    x = np.concatenate([x, _element_ties(spec, rng)])
    emax = fmt.elem.emax if fmt.elem else 0
    scales, codes, vals = [], [], []
    for block in _bits(x):
        s, c, v = ob.mx_block(spec, emax, block)
        scales.append(s)
        codes += c
        vals += v
    q = quantize(x, fmt)
    assert np.asarray(q.scales).reshape(-1).tolist() == scales
    got = np.asarray(q.codes).reshape(-1)
    want = np.array(codes, np.int64).astype(got.dtype)
    assert np.array_equal(got, want), f"{int((got != want).sum())} element codes differ"
    assert same_floats(np.asarray(q.dequantize()).reshape(-1), _values_f32(vals))


def _nvfp4_tensors(rng) -> list[np.ndarray]:
    t = (rng.standard_t(3, (16, 64)) * 0.02).astype(F)
    t[0, :16] = 0.0
    t[0, 16:32] = -0.0
    t[1, :16] = t[1, :16].max()                             # all-equal block
    t[2, :16] = np.abs(t).max() * 2                         # the tensor max: s = 448
    t[3, :16] = F(1e-9)                                      # s clipped up to 2**-6
    mids = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0], F)      # E2M1 midpoints
    ties = (rng.choice(mids, (8, 64)) * rng.choice(np.array([-1, 1], F), (8, 64))).astype(F)
    ties[:, ::16] = 6.0                       # block amax 6 -> s = 1, total = pts = 1 exactly
    ties[0, 0] = 2688.0                       # the tensor amax: pts = 2688 / 2688 = 1
    return [t, ties, np.zeros((2, 32), F), -t]


def test_nvfp4_equals_exact_reference():
    for x in _nvfp4_tensors(np.random.default_rng(23)):
        pts, s_codes, codes, vals = ob.nvfp4(x.reshape(-1).view(np.uint32).tolist())
        q = quantize(x, "nvfp4")
        assert np.asarray(q.aux["tensor_scale"]).reshape(1).view(np.uint32)[0] == ob.f32_bits(pts)
        assert np.asarray(q.scales).reshape(-1).tolist() == s_codes
        assert np.asarray(q.codes).reshape(-1).tolist() == codes
        assert same_floats(np.asarray(q.dequantize()).reshape(-1), _values_f32(vals))
