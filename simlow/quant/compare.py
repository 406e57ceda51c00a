"""Compare formats on one set of tensors: the error table behind ``simlow quant compare``.

Per format, errors are pooled over every tensor the format can take (a tensor whose last
axis does not fit the format's block is counted as skipped, never silently dropped). The
inner-product errors use ``n_queries`` Gaussian query vectors per tensor, drawn from a
generator of the format's own (seeded by ``seed`` and a CRC-32 of the format's canonical
name): a format's row is the same whichever other formats are compared, and in any order.
"""

from __future__ import annotations

import zlib

import numpy as np

from simlow.errors import SimlowError
from simlow.quant import metrics
from simlow.quant.registry import get_format
from simlow.quant.rotations import hadamard_transform


def synthetic(kind: str, seed: int = 0, shape=(256, 1024)) -> dict[str, np.ndarray]:
    """A named synthetic tensor: ``gaussian`` or ``heavy-tailed`` (Student-t, 3 dof, with
    a few outlier channels x20, the shape of LLM activations)."""
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return {"gaussian": rng.standard_normal(shape).astype(np.float32)}
    if kind == "heavy-tailed":
        x = rng.standard_t(3, shape)
        x[:, rng.choice(shape[1], 8, replace=False)] *= 20
        return {"heavy-tailed": (x * 0.02).astype(np.float32)}
    raise SimlowError(f"unknown synthetic tensor {kind!r} (valid: gaussian, heavy-tailed)")


def _rotated_kurtosis(tensors: dict[str, np.ndarray]) -> float | None:
    try:
        flat = [np.asarray(hadamard_transform(t.reshape(-1, t.shape[-1]))) for t in tensors.values()]
    except SimlowError:
        return None
    return metrics.kurtosis(np.concatenate([f.ravel() for f in flat]))


def format_rng(seed: int, name: str) -> np.random.Generator:
    """The query generator of one format: a function of ``seed`` and the format's name only
    (CRC-32 is stable across processes and Python versions, unlike ``hash``)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def compare(tensors: dict[str, np.ndarray], formats: list[str], seed: int = 0,
            n_queries: int = 16) -> dict:
    """Rows of pooled error metrics per format, plus kurtosis before/after a Hadamard."""
    rows = []
    for name in formats:
        fmt = get_format(name)
        rng = format_rng(seed, fmt.name)
        sq = sig = 0.0
        worst, n, skipped, ip = 0.0, 0, 0, []
        for t in tensors.values():
            try:
                y = np.asarray(fmt.quantize(t).dequantize())
            except SimlowError:
                skipped += 1
                continue
            d = y.astype(np.float64) - t
            sq, sig, n = sq + float(np.sum(d ** 2)), sig + float(np.sum(t.astype(np.float64) ** 2)), n + t.size
            worst = max(worst, float(np.abs(d).max()))
            q = rng.standard_normal((n_queries, t.shape[-1]))
            ip.append((q @ d.reshape(-1, t.shape[-1]).T).ravel())
        errs = np.concatenate(ip) if ip else np.zeros(0)
        rows.append({"format": fmt.name, "bits_per_weight": fmt.bits_per_weight,
                     "tensors": len(tensors) - skipped, "skipped": skipped,
                     "mse": sq / n if n else None,
                     "sqnr_db": (float("inf") if sq == 0 else 10 * np.log10(sig / sq)) if n else None,
                     "max_err": worst if n else None,
                     "ip_bias": float(errs.mean()) if n else None,
                     "ip_var": float(errs.var()) if n else None})
    allv = np.concatenate([t.ravel() for t in tensors.values()])
    return {"rows": rows, "kurtosis": metrics.kurtosis(allv),
            "kurtosis_hadamard": _rotated_kurtosis(tensors)}
