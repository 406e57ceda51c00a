"""Shared helpers for the quant tests."""

from __future__ import annotations

import numpy as np


def same_floats(a, b) -> bool:
    """Equal float32 bits, treating any two NaNs as equal (payloads differ between libraries)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    if a.shape != b.shape:
        return False
    ok = (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))
    return bool(ok.all())


def gguf_test_tensors(rng: np.random.Generator, rows: int = 48, cols: int = 256) -> list[np.ndarray]:
    """Random tensors with mixed magnitudes, exact ties, zero blocks and repeated maxima."""
    scale = rng.choice(np.array([1e-4, 1e-2, 1.0, 3.0, 1e3], np.float32), (rows, 1))
    gauss = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
    ties = (np.round(rng.standard_normal((rows, cols)) * 8) / 4).astype(np.float32)
    heavy = rng.standard_t(2, (rows, cols)).astype(np.float32)
    special = gauss.copy()
    special[0, :32] = 0.0                      # an all-zero block
    special[1, :32] = 1.0                      # a constant block
    special[2, 0], special[2, 5] = -3.0, 3.0   # the negative max comes first
    special[3, :32] = np.arange(32, dtype=np.float32) - 16  # integer ramp
    return [gauss, ties, heavy, special]
