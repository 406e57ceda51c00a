"""Plain minifloat formats: each element cast from float32 on its own, no scale.

Codes are the uint8 bit patterns (sign | exponent | mantissa, right-aligned: FP6 uses bits
0..5, FP4 bits 0..3). Semantics (RNE, signed zero, overflow, NaN) are defined once in
``numerics``; NaN and inf inputs are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax

from simlow.quant import minifloat
from simlow.quant.base import as_input
from simlow.numerics import E2M1, E2M3, E3M2, E4M3FN, E5M2, FpFormat
from simlow.quant.qtensor import QTensor


@dataclass(frozen=True)
class MinifloatCast:
    name: str
    fp: FpFormat
    storage: str | None

    @property
    def bits_per_weight(self) -> float:
        return float(self.fp.bits)

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name, finite=False)
        return QTensor(minifloat.encode(arr, self.fp), None, self, arr.shape)

    def dequantize(self, q: QTensor) -> jax.Array:
        return minifloat.decode(q.codes, self.fp)


FP8_E4M3 = MinifloatCast("fp8_e4m3", E4M3FN, "fp8_e4m3")
FP8_E5M2 = MinifloatCast("fp8_e5m2", E5M2, "fp8_e5m2")
FP6_E3M2 = MinifloatCast("fp6_e3m2", E3M2, None)
FP6_E2M3 = MinifloatCast("fp6_e2m3", E2M3, None)
FP4_E2M1 = MinifloatCast("fp4_e2m1", E2M1, None)
