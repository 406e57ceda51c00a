"""Decoding small float bit patterns into exact integer significands and exponents.

A finite value is ``sign * sig * 2^(exp - man_bits)``: normals have ``sig = 2^man_bits +
fraction`` and ``exp = field - bias``; subnormals have ``sig = fraction`` and ``exp = emin``
(``1 - bias``), the input's *unbiased exponent field* as the Hopper model wants it.
NaN and Inf codes are rejected (the datapath models do not define them).
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

from simlow.errors import SimlowError
from simlow.numerics import BF16, E4M3FN, E5M2, FP16, FpFormat


@dataclass(frozen=True)
class MiniFloat:
    """A float layout (``simlow.numerics``) with the NumPy / ml_dtypes dtype that holds it."""

    layout: FpFormat
    dtype: type

    @property
    def name(self) -> str:
        return self.layout.event_name

    @property
    def ieee_special(self) -> bool:
        """Whether the all-ones exponent field is Inf/NaN (e5m2, fp16, bf16), not only the
        all-ones code (e4m3fn)."""
        return self.layout.inf_code is not None


FORMATS = {
    "e4m3": MiniFloat(E4M3FN, ml_dtypes.float8_e4m3fn),
    "e5m2": MiniFloat(E5M2, ml_dtypes.float8_e5m2),
    "bf16": MiniFloat(BF16, ml_dtypes.bfloat16),
    "fp16": MiniFloat(FP16, np.float16),
}


def bit_patterns(x, fmt: MiniFloat, what: str) -> np.ndarray:
    """The raw bit patterns of ``x`` (a ``fmt`` array or unsigned patterns) as int64."""
    arr = np.asarray(x)
    utype = np.uint8 if fmt.layout.bits == 8 else np.uint16
    if arr.dtype == np.dtype(fmt.dtype):
        arr = arr.view(utype)
    elif arr.dtype != np.dtype(utype):
        raise SimlowError(f"{what} must be a {fmt.name} array ({np.dtype(fmt.dtype).name}) or its "
                          f"{np.dtype(utype).name} bit patterns, got {arr.dtype}")
    if arr.ndim != 2:
        raise SimlowError(f"{what} must be 2-D, got shape {arr.shape}")
    return arr.astype(np.int64)


def decode(bits: np.ndarray, fmt: MiniFloat, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sign, sig, exp)`` int64 arrays: sign in {-1, +1}; value = sign*sig*2^(exp-man_bits)."""
    lay = fmt.layout
    man_mask = (1 << lay.mbits) - 1
    exp_mask = (1 << lay.ebits) - 1
    field = (bits >> lay.mbits) & exp_mask
    frac = bits & man_mask
    if fmt.ieee_special:
        bad = field == exp_mask
    else:  # e4m3fn: only S.1111.111 is NaN
        bad = (field == exp_mask) & (frac == man_mask)
    if bad.any():
        raise SimlowError(f"{what} holds NaN or Inf codes, which the datapath models do not define")
    sign = np.where(bits >> (lay.bits - 1), -1, 1).astype(np.int64)
    normal = field > 0
    sig = np.where(normal, frac + (1 << lay.mbits), frac)
    exp = np.where(normal, field - lay.bias, lay.emin)
    return sign, sig, exp
