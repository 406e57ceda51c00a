"""GPTQ: equal to an independent, unoptimized NumPy implementation (explicit inverse-Hessian
downdates, one column at a time, no Cholesky factor, no lazy batches), equal to RTN when the
Hessian is the identity, and better than RTN on the layer output for correlated inputs."""

from __future__ import annotations

import numpy as np
import pytest

from simlow.quant import get_format, quantize
from simlow.quant.gptq import GptqConfig, gptq, hessian


def _column(w, s, z, bits, symmetric):
    s = s.astype(np.float32)
    v = np.rint(w.astype(np.float32) / np.where(s == 0, 1, s))
    if symmetric:
        q = np.clip(v, -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1)
        return q, s * q.astype(np.float32)
    z = z.astype(np.float32)
    q = np.clip(v + z, 0, 2 ** bits - 1)
    return q, s * (q - z).astype(np.float32)


def _reference_gptq(w, h, fmt_name, group, damp=0.01, act_order=False):
    """Optimal Brain Quantization order-fixed sweep: after rounding column i, move the
    other remaining columns by -err * Hinv[i, j] / Hinv[i, i] and remove i from the
    inverse Hessian by a rank-one downdate (Frantar et al. 2023, eqs. 2-3)."""
    fmt = get_format(fmt_name)
    w, h = w.astype(np.float64).copy(), h.astype(np.float64).copy()
    n, k = w.shape
    dead = np.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    hinv = np.linalg.inv(h + damp * np.mean(np.diag(h)) * np.eye(k))
    order = list(np.argsort(-np.diag(h), kind="stable")) if act_order else list(range(k))
    per_row = get_format(fmt_name.rsplit("_", 1)[0] + "_channel")
    grids = {}
    if act_order:
        for j in range(k // group):
            q = quantize(w[:, j * group:(j + 1) * group].astype(np.float32), per_row)
            grids[j] = (np.asarray(q.scales)[:, 0], np.asarray(q.aux.get("zero", np.zeros((n, 1))))[:, 0])
    codes = np.zeros((n, k))
    remaining = list(order)
    for col in order:
        if not act_order and col % group == 0:
            q = quantize(w[:, col:col + group].astype(np.float32), per_row)
            grids[col // group] = (np.asarray(q.scales)[:, 0], np.asarray(q.aux.get("zero", np.zeros((n, 1))))[:, 0])
        s, z = grids[col // group]
        codes[:, col], deq = _column(w[:, col], s, z, fmt.bits, fmt.symmetric)
        err = (w[:, col] - deq) / hinv[col, col]
        remaining.remove(col)
        for j in remaining:
            w[:, j] -= err * hinv[col, j]
        hinv = hinv - np.outer(hinv[:, col], hinv[col, :]) / hinv[col, col]
    return codes


def _problem(seed, n=24, k=128, t=512):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((k, k)) * 0.3 + np.eye(k)
    x = rng.standard_normal((t, k)) @ mix * np.exp(rng.standard_normal(k))   # correlated, uneven channels
    return rng.standard_normal((n, k)).astype(np.float32), x


@pytest.mark.parametrize("fmt,group,act_order,block", [
    ("int3_asym_g32", 32, False, 64), ("int4_sym_g64", 64, False, 16), ("int3_asym_g64", 64, True, 32),
    ("int4_asym_channel", 128, False, 32)])
def test_gptq_equals_straightforward_reference(fmt, group, act_order, block):
    w, x = _problem(1)
    h = hessian(x)
    got = gptq(w, h, get_format(fmt), GptqConfig(block=block, act_order=act_order))
    want = _reference_gptq(w, h, fmt, group, act_order=act_order)
    np.testing.assert_array_equal(np.asarray(got.codes, np.int64), want.astype(np.int64))


def test_gptq_with_identity_hessian_is_rtn_bit_for_bit():
    w, _ = _problem(2)
    q = gptq(w, np.eye(w.shape[1]), get_format("int3_asym_g64"), GptqConfig(damp=0.0))
    rtn = quantize(w, "int3_asym_g64")
    np.testing.assert_array_equal(np.asarray(q.codes), np.asarray(rtn.codes))
    np.testing.assert_array_equal(np.asarray(q.scales), np.asarray(rtn.scales))
    np.testing.assert_array_equal(np.asarray(q.aux["zero"]), np.asarray(rtn.aux["zero"]))
    np.testing.assert_array_equal(np.asarray(q.dequantize()), np.asarray(rtn.dequantize()))


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_gptq_reduces_the_layer_output_error_of_rtn(seed):
    w, x = _problem(seed)
    fit, held = x[:256], x[256:]               # calibrate on half the inputs, judge on the other half
    q = np.asarray(gptq(w, hessian(fit), get_format("int3_asym_g64")).dequantize(), np.float64)
    r = np.asarray(quantize(w, "int3_asym_g64").dequantize(), np.float64)
    err = lambda wq, xs: np.sum((xs @ (w.astype(np.float64) - wq).T) ** 2)
    assert err(q, held) < err(r, held)
    assert err(q, fit) < err(r, fit)
