"""KV-cache quantizers: Lloyd-Max codebooks, TurboQuant (MSE bound, QJL unbiasedness),
KIVI against a NumPy reference, and the Q8_0/Q4_0 caches against gguf-py."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import quantize as gguf_quantize

from simlow import formats
from simlow.errors import SimlowError
from simlow.quant import from_bytes, get_format, quantize
from simlow.quant import turboquant as tq
from simlow.quant.kivi import Kivi
from simlow.quant.lloyd import lloyd_max

from .conftest import same_floats

# Max (1960, IRE Trans. Inf. Theory IT-6) Gaussian Lloyd-Max table: positive centroids, MSE.
MAX_TABLE = {1: ((0.7979,), 0.3634), 2: ((0.4528, 1.5104), 0.1175),
             3: ((0.2451, 0.7560, 1.3440, 2.1520), 0.03454),
             4: ((0.1284, 0.3881, 0.6568, 0.9424, 1.2562, 1.6181, 2.0690, 2.7326), 0.00950)}
# TurboQuant Theorem 1 / 2 upper bounds (arXiv 2504.19874): D_mse <= sqrt(3) pi / 2 * 4**-b,
# D_prod <= sqrt(3) pi**2 ||y||**2 / d * 4**-b.
MSE_BOUND = math.sqrt(3) * math.pi / 2
PROD_BOUND = math.sqrt(3) * math.pi ** 2


def _unit_rows(rng, n, d):
    x = rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_lloyd_max_codebooks():
    for b, (pos, mse) in MAX_TABLE.items():
        cb = lloyd_max(b, 4096)          # large d: the Gaussian limit
        got = np.array(cb.centroids[2 ** (b - 1):]) * 64
        np.testing.assert_allclose(got, pos, rtol=2e-3)
        assert cb.mse == pytest.approx(mse, rel=3e-3)
        assert np.array_equal(cb.centroids, [-c for c in cb.centroids[::-1]])
    # exact finite-d values (a numerical Lloyd-Max solve) and the d = 3 case (uniform coordinate)
    for b, d, pos in [(2, 128, (0.4524, 1.5052)), (3, 128, (0.2443, 0.7532, 1.3365, 2.1314)),
                      (2, 64, (0.4521, 1.5000))]:
        got = np.array(lloyd_max(b, d).centroids[2 ** (b - 1):]) * math.sqrt(d)
        np.testing.assert_allclose(got, pos, atol=2e-4)
    cb3 = lloyd_max(1, 3)
    assert cb3.centroids == (-0.5, 0.5) and cb3.mse == pytest.approx(0.25, abs=1e-6)
    with pytest.raises(SimlowError):
        lloyd_max(2, 2)


def test_turboquant_mse_within_paper_bound():
    x = _unit_rows(np.random.default_rng(40), 512, 128)
    for b in (1, 2, 3, 4):
        q = quantize(x, f"turbo{b}")
        assert q.codes.dtype == np.uint8 and int(q.codes.max()) < 2 ** b
        err = np.sum((np.asarray(q.dequantize(), np.float64) - x) ** 2, axis=1).mean()
        assert err <= MSE_BOUND * 4.0 ** -b
        assert err == pytest.approx(lloyd_max(b, 128).mse, rel=0.03)   # the codebook's own MSE


def test_turboquant_norm_zero_and_determinism():
    rng = np.random.default_rng(41)
    x = (rng.standard_normal((6, 64)) * 5).astype(np.float32)
    x[2] = 0.0
    for name in ("turbo3", "turbo3_ip"):
        a, b = quantize(x, name), quantize(x, name)
        assert np.array_equal(a.codes, b.codes) and same_floats(a.dequantize(), b.dequantize())
        assert np.all(np.asarray(a.dequantize())[2] == 0)
        assert a.scales.dtype == np.float16 and a.scales.shape == (6, 1)
    other = tq.TurboQuant("t", 3, seed=1).quantize(x)
    assert not np.array_equal(other.codes, quantize(x, "turbo3").codes)   # the key matters
    with pytest.raises(SimlowError, match="float16 range"):
        quantize(np.full((1, 64), 1e4, np.float32), "turbo3")


def test_turbo3_matches_storage_table():
    st = formats.get("turbo3")
    fmt = get_format("turbo3")
    assert fmt.storage == "turbo3" and fmt.bits_per_weight == st.bits_per_weight == 3.0
    q = quantize(np.ones((4, 128), np.float32), fmt)
    assert q.scales.dtype.itemsize * q.scales.shape[-1] == st.row_bytes   # one fp16 norm per vector


def _estimates(x, y, keys, bits: int, inner_product: bool):
    """<y, x~> for each key (a fresh Pi, S per key), through the module's own stages."""
    d = x.shape[-1]
    cb = lloyd_max(bits - 1 if inner_product else bits, d)
    bounds, cents = jnp.asarray(cb.boundaries, jnp.float32), jnp.asarray(cb.centroids, jnp.float32)

    def one(key):
        pi, s = tq.turbo_matrices(key, d)
        base = tq.mse_decode(tq.mse_encode(x, pi, bounds), pi, cents)
        if inner_product:
            signs, gamma = tq.qjl_encode(x - base, s)
            base = base + tq.qjl_decode(signs, gamma, s)
        return base @ y
    return np.asarray(jax.vmap(one)(keys), np.float64)


def test_qjl_residual_makes_inner_products_unbiased():
    rng = np.random.default_rng(42)
    d, n = 64, 1500
    x, w = _unit_rows(rng, 2, d)
    w = w - (w @ x) * x
    y = (0.6 * x + 0.8 * w / np.linalg.norm(w)).astype(np.float32)   # <y, x> = 0.6, ||y|| = 1
    true = float(y.astype(np.float64) @ x)
    keys = jax.random.split(jax.random.PRNGKey(7), n)
    prod = _estimates(jnp.asarray(x), jnp.asarray(y), keys, 3, True)
    mse = _estimates(jnp.asarray(x), jnp.asarray(y), keys, 2, False)
    se_p, se_m = prod.std() / math.sqrt(n), mse.std() / math.sqrt(n)
    assert abs(prod.mean() - true) < 4 * se_p                      # unbiased
    shrink = 1 - lloyd_max(2, d).mse                               # E <y, x~_mse> = (1 - D) <y, x>
    assert abs(mse.mean() - shrink * true) < 4 * se_m
    assert true - mse.mean() > 20 * se_m                           # and so biased
    assert prod.var() <= PROD_BOUND / d * 4.0 ** -3                 # Theorem 2 distortion bound


def _kivi_ref(g, bits):
    """NumPy float32 reference of KIVI's group rule along the last axis."""
    maxq = 2 ** bits - 1
    m16 = g.min(-1, keepdims=True).astype(np.float16)
    s16 = ((g.max(-1, keepdims=True) - g.min(-1, keepdims=True)) / np.float32(maxq)).astype(np.float16)
    s, m = s16.astype(np.float32), m16.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(s == 0, 0, np.clip(np.round((g - m) / s), 0, maxq)).astype(np.uint8)
    return q, s16, m16, (q.astype(np.float32) * s) + m


@pytest.mark.parametrize("bits", [2, 4])
def test_kivi_equals_numpy_reference(bits):
    rng = np.random.default_rng(43)
    x = (rng.standard_normal((2, 300, 64)) * rng.choice([0.1, 1, 8], (1, 1, 64))).astype(np.float32)
    x[0, :32, 5] = 1.5                       # a constant key group (scale 0)
    x[1, 7, :] = np.round(x[1, 7, :] * 4) / 4
    k, v = quantize(x, f"kivi{bits}_k"), quantize(x, f"kivi{bits}_v")
    # keys: 256 tokens quantized (300 mod 128 = 44 kept), per channel over 32 tokens
    gk = np.swapaxes(x[:, :256].reshape(2, 8, 32, 64), -1, -2)
    qk, sk, mk, yk = _kivi_ref(gk, bits)
    assert np.array_equal(k.codes, np.swapaxes(qk, -1, -2).reshape(2, 256, 64))
    assert np.array_equal(k.scales, sk[..., 0]) and np.array_equal(k.aux["min"], mk[..., 0])
    yk = np.swapaxes(yk, -1, -2).reshape(2, 256, 64)
    assert same_floats(k.dequantize(), np.concatenate([yk, x[:, 256:].astype(np.float16)], axis=1))
    # values: the newest 128 tokens kept, per token over groups of 32 channels
    qv, sv, mv, yv = _kivi_ref(x[:, :172].reshape(2, 172, 2, 32), bits)
    assert np.array_equal(v.codes, qv.reshape(2, 172, 64)) and np.array_equal(v.scales, sv[..., 0])
    assert same_floats(v.dequantize(), np.concatenate([yv.reshape(2, 172, 64),
                                                       x[:, 172:].astype(np.float16)], axis=1))
    assert get_format(f"kivi{bits}_k").bits_per_weight == bits + 1.0


def test_kivi_windows_and_errors():
    x = np.random.default_rng(44).standard_normal((100, 64)).astype(np.float32)
    v = quantize(x, "kivi2_v")
    assert v.codes.shape == (0, 64) and same_floats(v.dequantize(), x.astype(np.float16))
    assert quantize(x, Kivi("k", 2, "key", group=32, residual=0)).codes.shape == (96, 64)
    with pytest.raises(SimlowError, match="multiple of the group"):
        Kivi("k", 2, "key", group=32, residual=48)
    with pytest.raises(SimlowError, match="head_dim 40"):
        quantize(np.zeros((200, 40), np.float32), "kivi2_v")


@pytest.mark.parametrize("name", ["kv_q8_0", "kv_q4_0"])
def test_gguf_kv_cache_bytes(name):
    rng = np.random.default_rng(45)
    kv = (np.round(rng.standard_normal((4, 37, 128)) * 6) / 4).astype(np.float32)
    ref = gguf_quantize(kv.reshape(-1, 128), T[name[3:].upper()])
    q = quantize(kv, name)
    assert q.to_bytes() == ref.tobytes() and q.bits_per_weight == get_format(name[3:]).bits_per_weight
    assert same_floats(from_bytes(ref.tobytes(), name, kv.shape).dequantize(), q.dequantize())
    with pytest.raises(SimlowError, match="head_dim"):
        quantize(np.zeros((4, 80), np.float32), name)
