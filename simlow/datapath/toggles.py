"""Operand bit toggles: how many register bits flip as a GEMM's operands stream in.

Dynamic energy of a multiplier or shifter input follows how many of its input bits change
from one operation to the next, so two GEMMs with the same number of MACs can cost
differently (a sparse or slowly varying operand toggles less). This module counts those
flips; pricing them is the cost model's job.

Model (an output-stationary array, one MAC per output): the MAC for output (m, n) loads
``a[m, k]`` into an ``a_bits`` operand register and ``w[k, n]`` into a ``w_bits`` register,
for k = 0, 1, ... in order, starting from an all-zero register. A load toggles the bits in
which the new pattern differs from the old (Hamming distance of the low ``bits`` bits of
the two's-complement codes, or of float bit patterns). Every MAC of row m sees the same
activation stream, so activation toggles are ``N * sum_m sum_k HD(a[m,k], a[m,k-1])``,
and weight toggles ``M * sum_n sum_k HD(w[k,n], w[k-1,n])`` (``a[m,-1] = 0``).

These counts are returned apart from ``run``'s event counts because ``simlow.events`` has
no toggle event yet; they use the same operands, so a caller can join them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlow.errors import SimlowError


@dataclass(frozen=True)
class OperandToggles:
    a_bits: int            # activation register width
    w_bits: int            # weight register width
    a_toggles: int         # bit flips at every activation register, summed
    w_toggles: int         # bit flips at every weight register, summed
    loads: int             # operand-pair loads (M * N * K)

    @property
    def per_load(self) -> float:
        """Average bits flipped per MAC (both registers)."""
        return (self.a_toggles + self.w_toggles) / self.loads if self.loads else 0.0


def _patterns(x, bits: int, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.dtype.kind not in "iu":
        raise SimlowError(f"{what} must be a 2-D array of integer codes or bit patterns, "
                          f"got {arr.dtype} of shape {arr.shape}")
    if not 1 <= bits <= 32:
        raise SimlowError(f"{what} register width must be 1..32 bits, got {bits}")
    return arr.astype(np.int64) & ((1 << bits) - 1)


def stream_toggles(x: np.ndarray, axis: int) -> int:
    """Bits flipped along ``axis`` of patterns ``x``, from an all-zero start."""
    y = np.moveaxis(x, axis, 0)
    prev = np.concatenate([np.zeros_like(y[:1]), y[:-1]], axis=0)
    return int(np.bitwise_count((y ^ prev).astype(np.uint64)).sum())


def operand_toggles(a, w, a_bits: int, w_bits: int) -> OperandToggles:
    """Toggle counts for ``a`` (M, K) and ``w`` (K, N) codes in ``a_bits``/``w_bits`` registers."""
    pa, pw = _patterns(a, a_bits, "a"), _patterns(w, w_bits, "w")
    if pa.shape[1] != pw.shape[0]:
        raise SimlowError(f"inner dimensions differ: a is {pa.shape}, w is {pw.shape}")
    (m, k), n = pa.shape, pw.shape[1]
    return OperandToggles(a_bits, w_bits, n * stream_toggles(pa, axis=1),
                          m * stream_toggles(pw, axis=0), m * n * k)
