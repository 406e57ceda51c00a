"""The ``torch._scaled_mm`` tensorwise scale epilogue of the FP8 tensor core.

``torch._scaled_mm(a, b, scale_a, scale_b, out_dtype=...)`` (PyTorch; measured on H100 at
scale 1 in tests/vectors/h100_tc_dev_vectors.npz) returns ``cast_out(acc * scale_a * scale_b)``
where ``acc`` is the fp32 result of the accumulation (``simlow.datapath.fp8acc``) and the
scales are 0-d float32 tensors. simlow computes, per output, in IEEE fp32 with
round-to-nearest-even at every operation:

===============================  ==================================================
``ScaleOrder.SEQUENTIAL``        ``y = fp32(fp32(acc * scale_a) * scale_b)`` (default:
                                 the written ``acc * scale_a * scale_b``, left to right)
``ScaleOrder.COMBINED``          ``s = fp32(scale_a * scale_b)`` once, ``y = fp32(acc * s)``
===============================  ==================================================

then ``cast_out(y)``: float32 as is; bfloat16 / float16 by one RNE rounding of the fp32 value
(ml_dtypes / NumPy casts from float32).

What the H100 measurements pin down: only ``scale_a = scale_b = 1`` with float32 output
(every recorded vector), where both orders are the identity. Unverified, and so options
with documented defaults: the order of the two multiplications (the orders agree whenever
a scale is a power of two and nothing overflows or goes subnormal, and otherwise may
differ in the last one or two bits); the bf16/fp16 output cast (one rounding from fp32 is
assumed, not a direct rounding of the exact product); overflow (IEEE: +-inf) and subnormal
results (kept, no flush). Rowwise scales, bias and ``scale_result`` are not modelled.

Scales must be float32 values: a float32 scalar, a 0-d float32 array, or a Python/NumPy
float that float32 holds exactly (0.1 is refused rather than silently rounded).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from simlow.datapath.configs import ScaleOrder
from simlow.errors import SimlowError
from simlow.events import Event, Op


OUT_DTYPES = {np.dtype(np.float32): "fp32", np.dtype(ml_dtypes.bfloat16): "bf16",
              np.dtype(np.float16): "fp16"}


def scale_value(x, what: str) -> np.float32:
    """``x`` as a float32 scalar, or a SimlowError saying what a valid scale is."""
    arr = np.asarray(x)
    if arr.ndim != 0 or arr.dtype.kind != "f":
        raise SimlowError(f"{what} must be a float32 scalar (tensorwise scale; rowwise and block "
                          f"scales are not modelled), got {arr.dtype} of shape {arr.shape}")
    v = np.float32(arr)
    if arr.dtype != np.float32 and float(v) != float(arr):
        raise SimlowError(f"{what}={float(arr)!r} is not exactly a float32; pass np.float32(...)")
    if not np.isfinite(v):
        raise SimlowError(f"{what} must be finite, got {v}")
    return v


def out_dtype_of(out_dtype) -> np.dtype:
    dt = np.dtype(np.float32 if out_dtype is None else out_dtype)
    if dt not in OUT_DTYPES:
        raise SimlowError(f"out_dtype must be float32, bfloat16 or float16, got {dt}")
    return dt


def apply(acc: np.ndarray, scale_a, scale_b, order: ScaleOrder, out_dtype=None) -> np.ndarray:
    """The epilogue on the fp32 accumulator ``acc`` (see the module table)."""
    sa, sb = scale_value(scale_a, "scale_a"), scale_value(scale_b, "scale_b")
    dt = out_dtype_of(out_dtype)
    acc = np.asarray(acc, dtype=np.float32)
    with np.errstate(over="ignore", under="ignore"):
        if order is ScaleOrder.SEQUENTIAL:
            y = (acc * sa) * sb
        else:
            y = acc * np.float32(sa * sb)
    return y.astype(dt)


def counts(m: int, n: int, order: ScaleOrder, out_dtype=None) -> dict[Event, int]:
    """FP_MUL(fp32): two per output (SEQUENTIAL) or one per output plus one (COMBINED)."""
    muls = 2 * m * n if order is ScaleOrder.SEQUENTIAL else m * n + 1
    return {Event(Op.FP_MUL, fmt="fp32"): muls}
