"""OffQ (an unsigned web article, no URL): a top-1 PCA outlier rotation with a shared offset.

Layering: uses ``base``, ``_exact``, ``uniform``; a fitted ``OffQ`` is a format object that
``quantize`` accepts (it is not in the registry: it needs calibration data).

The article says: "Run top-1 PCA on activation distributions. Rotate the activation space so
all outlier magnitude lands on exactly one channel. Then absorb that entire channel into a
single shared offset", followed by plain per-tensor uniform 4-bit quantization. It gives no
formula. simlow implements this reading:

1. ``fit(calib)``: ``v`` = the top right singular vector of the calibration rows ``X``
   (N x d), *uncentred* (the direction of largest ``E<v, x>**2``: systematic outliers are
   mostly a large common value, which centring would hide), computed in float64, sign fixed
   so that its largest-magnitude entry is positive.
2. The rotation is the Householder reflection ``H = I - 2 w w^T / (w^T w)``, ``w = v - e_0``
   (``H = I`` if v = e_0): orthogonal, symmetric, ``H v = e_0``, so ``z = H x`` puts the
   outlier direction on channel 0 (``z_0 = <v, x>``). Applied in O(d) per row, never as a
   dense matrix. (A reflection, det -1; "rotation" in the article's loose sense.)
3. The shared offset ``c`` = mean of ``z_0`` over the calibration rows (one float32 scalar).
   Quantize: channel 0 is dropped and replaced by ``c`` for every row (the article's "absorb
   the channel into a single shared offset"; in a matmul ``W x`` it becomes the constant
   bias ``c W v``); the other d - 1 channels go to ``inner`` (default: symmetric 4-bit,
   one scale per tensor, RNE: "plain uniform 4-bit, no groups, no per-token scaling").
   With ``keep_channel=True`` the per-row ``z_0`` is kept in float16 instead (the lossless
   reading, one extra float16 per row), so both readings can be measured.
4. Dequantize ``x~ = H [c (or z_0 float16), inner.dequantize(z_1..)]``.

Whether this gives the article's "W4A4KV4 within 1% perplexity" is not checked here; the
arithmetic is, so its error and kurtosis can be measured.

QTensor: ``codes``/``scales``/``aux`` of the inner format over ``(..., d - 1)``, plus
``aux["channel0"]`` (float16, ``(..., 1)``) when ``keep_channel``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from simlow.errors import SimlowError
from simlow.quant.base import as_input
from simlow.quant.qtensor import QTensor
from simlow.quant.uniform import Granularity, UniformInt

_DEFAULT_INNER = UniformInt(4, True, Granularity.TENSOR)


@jax.jit
def householder(x, w):
    """``H x`` along the last axis, ``H = I - 2 w w^T / (w^T w)`` (identity when w = 0)."""
    ww = jnp.dot(w, w, precision=jax.lax.Precision.HIGHEST)
    coef = jnp.where(ww == 0, 0.0, 2 * jnp.einsum("...j,j->...", x, w, precision=jax.lax.Precision.HIGHEST)
                     / jnp.where(ww == 0, 1.0, ww))
    return x - coef[..., None] * w


def top_direction(calib) -> np.ndarray:
    """The uncentred top-1 principal direction of the rows of ``calib`` (float64, sign-fixed)."""
    x = np.asarray(calib, np.float64).reshape(-1, np.shape(calib)[-1])
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    v = vt[0]
    return v if v[np.argmax(np.abs(v))] > 0 else -v


@dataclass(frozen=True, eq=False)
class OffQ:
    """A fitted OffQ (see the module docstring): ``direction`` v, shared ``offset`` c."""

    direction: tuple[float, ...]
    offset: float
    inner: Any = _DEFAULT_INNER
    keep_channel: bool = False
    name: str = "offq"
    storage: str | None = None

    @property
    def dim(self) -> int:
        return len(self.direction)

    @property
    def bits_per_weight(self) -> float:
        """Inner bits over d - 1 channels (+ 16 per row for a kept channel), per element."""
        d = self.dim
        return (self.inner.bits_per_weight * (d - 1) + (16 if self.keep_channel else 0)) / d

    def reflector(self) -> jax.Array:
        """``w = v - e_0`` (float32) defining H."""
        w = np.array(self.direction, np.float64)
        w[0] -= 1.0
        return jnp.asarray(w, jnp.float32)

    def rotate(self, x) -> jax.Array:
        """``z = H x`` (H is its own inverse)."""
        return householder(jnp.asarray(x, jnp.float32), self.reflector())

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        if arr.shape[-1] != self.dim:
            raise SimlowError(f"{self.name}: fitted for {self.dim} channels, got last axis {arr.shape[-1]}")
        z = self.rotate(arr)
        inner = self.inner.quantize(z[..., 1:])
        aux = dict(inner.aux)
        if self.keep_channel:
            aux["channel0"] = z[..., :1].astype(jnp.float16)
        return QTensor(inner.codes, inner.scales, self, arr.shape, aux)

    def dequantize(self, q: QTensor) -> jax.Array:
        aux = {k: v for k, v in q.aux.items() if k != "channel0"}
        rest = QTensor(q.codes, q.scales, self.inner, q.shape[:-1] + (self.dim - 1,), aux).dequantize()
        if self.keep_channel:
            ch0 = q.aux["channel0"].astype(jnp.float32)
        else:
            ch0 = jnp.full(q.shape[:-1] + (1,), self.offset, jnp.float32)
        return self.rotate(jnp.concatenate([ch0, rest], axis=-1))


def fit(calib, inner=_DEFAULT_INNER, keep_channel: bool = False, name: str = "offq") -> OffQ:
    """Fit OffQ on calibration rows ``calib`` (..., d): direction and shared offset."""
    arr = np.asarray(as_input(calib, name), np.float32)
    if arr.shape[-1] < 2 or arr.size == 0:
        raise SimlowError(f"{name}: calibration data needs rows of at least 2 channels, got {arr.shape}")
    v = top_direction(arr)
    fitted = OffQ(tuple(float(e) for e in v), 0.0, inner, keep_channel, name)
    z0 = np.asarray(fitted.rotate(arr.reshape(-1, arr.shape[-1])))[:, 0]
    return OffQ(fitted.direction, float(np.float32(z0.astype(np.float64).mean())), inner, keep_channel, name)
