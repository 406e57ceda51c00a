"""Quantization error per format: each error metric against bits per weight.

Input: one row per format (from ``simlow.quant``'s error metrics on the same tensor)::

    [{"format": "q4_0", "bits_per_weight": 4.5, "rmse": 0.0123, "sqnr_db": 21.4}, ...]

(or ``simlow quant compare --json``'s document, whose ``rows`` are those). Each error
metric a row carries (``ERROR_METRICS``: MSE, SQNR, max error, inner-product bias and
variance...) gets one panel with the formats as labelled points placed by bits per weight,
so cheaper formats sit left and the trade-off reads directly. Other numbers in a row
(tensor counts, skipped tensors) are not errors and are not plotted; the title names them.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from simlow.errors import SimlowError
from simlow.report.data import finite, require, rows_of
from simlow.report.style import layout

LOG_METRICS = ("mse", "rmse", "rel_rmse", "max_abs_error", "mean_abs_error", "kl", "max_err", "ip_var")
ERROR_METRICS = ("mse", "rmse", "rel_rmse", "sqnr_db", "max_err", "max_abs_error", "mean_abs_error", "ip_bias",
                 "ip_var", "kl")
TITLES = {"mse": "MSE", "rmse": "RMSE", "rel_rmse": "relative RMSE", "sqnr_db": "SQNR (dB)",
          "max_err": "max |error|", "max_abs_error": "max |error|", "mean_abs_error": "mean |error|",
          "ip_bias": "inner-product bias", "ip_var": "inner-product variance", "kl": "KL divergence"}


def metrics_of(rows: list) -> list[str]:
    """The error metrics the rows carry, in ``ERROR_METRICS`` order."""
    present = {k for r in rows for k, v in r.items() if finite(v)}
    return [m for m in ERROR_METRICS if m in present]


def not_plotted(rows: list) -> list[str]:
    """Numeric columns that are not error metrics (counts and the like)."""
    return list(dict.fromkeys(k for r in rows for k, v in r.items() if finite(v)
                              and k not in ERROR_METRICS and k not in ("format", "bits_per_weight")))


def quant_error_figure(rows: list) -> go.Figure:
    """One panel per metric, formats placed by bits per weight (see module doc)."""
    if isinstance(rows, dict) and isinstance(rows.get("rows"), list):
        rows = rows["rows"]
    rows = [require(r, ("format", "bits_per_weight"), f"quant error row {i}")
            for i, r in enumerate(rows_of(rows, "quant error"))]
    metrics = metrics_of(rows)
    if not metrics:
        raise SimlowError(f"quant error: rows carry none of the error metrics {', '.join(ERROR_METRICS)}")
    fig = make_subplots(rows=1, cols=len(metrics), horizontal_spacing=0.06,
                        subplot_titles=metrics)
    for col, m in enumerate(metrics, start=1):
        have = [r for r in rows if finite(r.get(m))]
        fig.add_trace(go.Scatter(x=[r["bits_per_weight"] for r in have], y=[r[m] for r in have],
                                 mode="markers+text", text=[r["format"] for r in have], textposition="top center",
                                 name=m, showlegend=False, marker=dict(size=9),
                                 hovertemplate="%{text}<br>%{x:.4g} bits/weight<br>" + m + " %{y:.4g}<extra></extra>"),
                      row=1, col=col)
        fig.update_xaxes(title="bits per weight", row=1, col=col)
        fig.update_yaxes(title=TITLES.get(m, m), row=1, col=col)
        if m in LOG_METRICS and all(r[m] > 0 for r in have):
            fig.update_yaxes(type="log", row=1, col=col)
    skipped = not_plotted(rows)
    note = f" (not plotted, not errors: {', '.join(skipped)})" if skipped else ""
    return layout(fig, f"Quantization error per format{note}", height=460)
