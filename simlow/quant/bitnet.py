"""BitNet b1.58 ternary weights (per-tensor absmean) and 8-bit per-token absmax activations.

Layering: uses ``_exact``, ``base``; registered in ``registry``.

Reference: "The Era of 1-bit LLMs: Training Tips, Code and FAQ" (microsoft/unilm,
``bitnet/The-Era-of-1-bit-LLMs__Training_Tips_Code_FAQ.pdf``)::

    weight_quant:      s = 1 / max(mean|w|, 1e-5);  q = clip(RNE(w * s), -1, 1);  w~ = q / s
    activation_quant:  s = 127 / max(max|x| per token, 1e-5);  q = clip(RNE(x * s), -128, 127);  x~ = q / s

All float32 with one rounding per operation, except the mean: ``mean|w|`` is accumulated
in float64 (NumPy pairwise) and rounded once to float32, so it does not depend on a
float32 summation order (torch's order is not specified). Codes: int8; ``scales`` holds
the float32 ``s`` (per tensor for weights, shape (..., 1) per token for activations).
Dequantize gives +0.0 for code 0 (the float reference keeps -0.0 for small negatives).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from simlow.quant import _exact
from simlow.quant.base import as_input
from simlow.quant.qtensor import QTensor


@jax.jit
def _codes(p, lo, hi):
    return jnp.clip(jnp.round(p), lo, hi).astype(jnp.int8)


@dataclass(frozen=True)
class BitNetWeights:
    name: str = "bitnet_w158"
    storage: str | None = "i2_s"

    @property
    def bits_per_weight(self) -> float:
        return 2.0   # stored as 2-bit codes (bitnet.cpp I2_S); log2(3) = 1.58 is the entropy

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        mean = np.float32(np.abs(np.asarray(arr, np.float64)).sum() / arr.size)
        s = _exact.true_div(1.0, jnp.maximum(jnp.float32(mean), 1e-5))
        codes = _codes(_exact.mul(arr, s), -1, 1)
        return QTensor(codes, s.reshape(1), self, arr.shape)

    def dequantize(self, q: QTensor) -> jax.Array:
        return _exact.div(q.codes.astype(jnp.float32), q.scales)


@dataclass(frozen=True)
class BitNetActivations:
    name: str = "bitnet_a8"
    storage: str | None = None

    @property
    def bits_per_weight(self) -> float:
        return 8.0

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        amax = _exact.abs_max(arr)
        s = _exact.true_div(127.0, jnp.maximum(amax, 1e-5))
        codes = _codes(_exact.mul(arr, s), -128, 127)
        return QTensor(codes, s, self, arr.shape)

    def dequantize(self, q: QTensor) -> jax.Array:
        return _exact.div(q.codes.astype(jnp.float32), q.scales)


BITNET_W = BitNetWeights()
BITNET_A8 = BitNetActivations()
