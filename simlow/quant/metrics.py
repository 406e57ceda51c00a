"""Quality metrics of a quantized tensor against its original (float64 NumPy; descriptive,
not bit-exact).

* ``mse``: mean (x - y)**2; ``sqnr_db``: 10 log10(sum x**2 / sum (x - y)**2) (inf if exact);
  ``max_err``: max |x - y|.
* ``inner_product_error``: for query vectors ``q`` (rows), the errors
  ``<q, y_i> - <q, x_i>`` over all rows i of x: their mean (bias) and variance, which is
  what an attention score or a matmul output sees.
* ``kurtosis``: Pearson kurtosis E[(x-mu)^4] / var^2 (3 for a Gaussian) over all elements.
"""

from __future__ import annotations

import numpy as np


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def mse(x, y) -> float:
    return float(np.mean((_f64(x) - _f64(y)) ** 2))


def sqnr_db(x, y) -> float:
    x, y = _f64(x), _f64(y)
    noise = float(np.sum((x - y) ** 2))
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(x ** 2) / noise))


def max_err(x, y) -> float:
    return float(np.max(np.abs(_f64(x) - _f64(y))))


def inner_product_error(x, y, queries) -> tuple[float, float]:
    """(bias, variance) of ``queries @ y.T - queries @ x.T`` over every query and row."""
    x2, y2 = _f64(x).reshape(-1, np.shape(x)[-1]), _f64(y).reshape(-1, np.shape(x)[-1])
    err = _f64(queries) @ (y2 - x2).T
    return float(err.mean()), float(err.var())


def kurtosis(x) -> float:
    x = _f64(x).ravel()
    c = x - x.mean()
    var = float(np.mean(c ** 2))
    return float("nan") if var == 0 else float(np.mean(c ** 4) / var ** 2)


def error_report(x, y, queries) -> dict[str, float]:
    """All the metrics above for one tensor, as a plain dict."""
    bias, var = inner_product_error(x, y, queries)
    return {"mse": mse(x, y), "sqnr_db": sqnr_db(x, y), "max_err": max_err(x, y),
            "ip_bias": bias, "ip_var": var}
