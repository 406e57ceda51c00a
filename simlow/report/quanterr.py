"""Quantization error per format: each error metric against bits per weight.

Input: one row per format (from ``simlow.quant``'s error metrics on the same tensor)::

    [{"format": "q4_0", "bits_per_weight": 4.5, "rmse": 0.0123, "sqnr_db": 21.4}, ...]

Every numeric key other than ``bits_per_weight`` is a metric; each gets one panel with the
formats as labelled points, so cheaper formats sit left and the trade-off reads directly.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from simlow.errors import SimlowError
from simlow.report.data import finite, require, rows_of
from simlow.report.style import layout

LOG_METRICS = ("mse", "rmse", "rel_rmse", "max_abs_error", "mean_abs_error", "kl")


def metrics_of(rows: list) -> list[str]:
    keys = dict.fromkeys(k for r in rows for k, v in r.items()
                         if k not in ("format", "bits_per_weight") and finite(v))
    return list(keys)


def quant_error_figure(rows: list) -> go.Figure:
    """One panel per metric, formats placed by bits per weight (see module doc)."""
    rows = [require(r, ("format", "bits_per_weight"), f"quant error row {i}")
            for i, r in enumerate(rows_of(rows, "quant error"))]
    metrics = metrics_of(rows)
    if not metrics:
        raise SimlowError("quant error: rows carry no numeric error metric besides bits_per_weight")
    fig = make_subplots(rows=1, cols=len(metrics), horizontal_spacing=0.08, subplot_titles=metrics)
    for col, m in enumerate(metrics, start=1):
        have = [r for r in rows if finite(r.get(m))]
        fig.add_trace(go.Scatter(x=[r["bits_per_weight"] for r in have], y=[r[m] for r in have],
                                 mode="markers+text", text=[r["format"] for r in have], textposition="top center",
                                 name=m, showlegend=False, marker=dict(size=9),
                                 hovertemplate="%{text}<br>%{x:.4g} bits/weight<br>" + m + " %{y:.4g}<extra></extra>"),
                      row=1, col=col)
        fig.update_xaxes(title="bits per weight", row=1, col=col)
        if m in LOG_METRICS and all(r[m] > 0 for r in have):
            fig.update_yaxes(type="log", row=1, col=col)
    return layout(fig, "Quantization error per format", height=460)
