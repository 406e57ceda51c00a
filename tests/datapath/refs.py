"""Independent int64 references for the datapath tests (plain loops, no simlow code)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

H100_VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "h100_tc_dev_vectors.npz"


def h100_vectors():
    if not H100_VECTORS.exists():
        pytest.fail(f"H100 test vectors missing: expected {H100_VECTORS} (shipped in tests/vectors/)")
    return np.load(H100_VECTORS)


def wrap(x, bits):
    m = 1 << bits
    return np.mod(x + (m >> 1), m) - (m >> 1)


def clamp(x, bits):
    return np.clip(x, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def ref_int_acc(a, w, bits, policy, step):
    """Step-by-step accumulator in int64; policy is 'wrap', 'sat_step' or 'sat_end'."""
    a = np.asarray(a, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    acc = np.zeros((a.shape[0], w.shape[1]), dtype=np.int64)
    for k0 in range(0, a.shape[1], step):
        acc = acc + np.matmul(a[:, k0:k0 + step], w[k0:k0 + step])
        if policy == "wrap":
            acc = wrap(acc, bits)
        elif policy == "sat_step":
            acc = clamp(acc, bits)
    return clamp(acc, bits) if policy == "sat_end" else acc
