"""Serving runs under load: latency CDFs, throughput against offered rate, KV occupancy.

Input: one or more serving results as ``ServingResult.to_dict()`` gives them (or the same
read back from JSON)::

    {"model": ..., "hw": ..., "scheme": ..., "engine": "vllm", "arrivals": "poisson",
     "config": {"rate": 8.0, "concurrency": null, ...},
     "throughput_output_tok_s": ..., "ttft_s": {"p50": ..., "p99": ...}, ...,
     "cdf": {"quantile_pct": [0, 1, ..., 100], "ttft_s": [...], "tpot_s": [...], "e2e_s": [...]},
     "series": {"time_s": [...], "running": [...], "kv_occupancy": [...]}}

``latency_cdf_figure``: TTFT, TPOT and E2E as cumulative distributions (one panel each, a
line per run); ``throughput_rate_figure``: output tokens/s and TTFT p50 / p99 against the
offered request rate (runs of open-loop arrivals; closed-loop runs are left out: their rate
is not offered); ``kv_timeline_figure``: the KV cache's occupied fraction and the requests
running over simulated time, a line per run.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from simlow.report.data import require, rows_of
from simlow.report.style import layout

RESULT_KEYS = ("cdf", "series", "throughput_output_tok_s", "ttft_s", "config")
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def run_colour(i: int) -> str:
    """One colour per run, the same in every panel."""
    return RUN_COLOURS[i % len(RUN_COLOURS)]
LATENCIES = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "E2E"))


def _runs(results) -> list[dict]:
    items = results if isinstance(results, list) else [results]
    rows_of(items, "serving results")
    return [require(r, RESULT_KEYS, f"serving result {i}") for i, r in enumerate(items)]


def run_label(r: dict) -> str:
    """``model / scheme / hw, engine, load`` of one run."""
    c = r.get("config", {})
    load = f"{c['rate']:g} req/s" if c.get("rate") is not None else str(r.get("arrivals", ""))
    parts = [str(r[k]) for k in ("model", "scheme", "hw") if k in r]
    return f"{' / '.join(parts)}, {r.get('engine', '')}, {load}".strip(", ")


def latency_cdf_figure(results) -> go.Figure:
    """TTFT, TPOT and E2E cumulative distributions in ms, one line per run."""
    runs = _runs(results)
    fig = make_subplots(rows=1, cols=3, subplot_titles=[name for _, name in LATENCIES])
    for i, r in enumerate(runs):
        q = [p / 100 for p in r["cdf"]["quantile_pct"]]
        for col, (key, name) in enumerate(LATENCIES, start=1):
            x = r["cdf"].get(key) or []
            if not x:
                continue
            fig.add_trace(go.Scatter(x=[v * 1e3 for v in x], y=q[:len(x)], mode="lines", name=run_label(r),
                                     legendgroup=str(i), showlegend=col == 1, line=dict(color=run_colour(i)),
                                     hovertemplate=f"{name} %{{x:,.1f}} ms<br>fraction %{{y:.2f}}<extra></extra>"),
                          row=1, col=col)
            fig.update_xaxes(title=f"{name} (ms)", row=1, col=col)
    fig.update_yaxes(title="fraction of requests", range=[0, 1.02], row=1, col=1)
    return layout(fig, "Latency distributions (simulated)", height=420)


def throughput_rate_figure(results) -> go.Figure:
    """Output tokens/s (left axis) and TTFT p50 / p99 (right axis, ms) against offered rate."""
    runs = sorted((r for r in _runs(results) if r["config"].get("rate") is not None),
                  key=lambda r: r["config"]["rate"])
    rates = [r["config"]["rate"] for r in runs]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=rates, y=[r["throughput_output_tok_s"] for r in runs], mode="lines+markers",
                             name="output tok/s", hovertemplate="%{x:g} req/s: %{y:,.0f} tok/s<extra></extra>"))
    for q, dash in (("p50", "solid"), ("p99", "dot")):
        fig.add_trace(go.Scatter(x=rates, y=[r["ttft_s"][q] * 1e3 for r in runs], mode="lines+markers",
                                 name=f"TTFT {q}", line=dict(dash=dash),
                                 hovertemplate=f"%{{x:g}} req/s: TTFT {q} %{{y:,.1f}} ms<extra></extra>"),
                      secondary_y=True)
    fig.update_xaxes(title="offered rate (requests/s)")
    fig.update_yaxes(title="output tokens/s", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title="TTFT (ms, log)", type="log", dtick="D2", secondary_y=True)
    return layout(fig, "Throughput and time to first token against offered load (simulated)")


def kv_timeline_figure(results) -> go.Figure:
    """KV cache occupancy (%) and running requests over simulated time, per run."""
    runs = _runs(results)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=["KV cache occupied (%)", "requests running"])
    for i, r in enumerate(runs):
        s = r["series"]
        name = run_label(r)
        fig.add_trace(go.Scatter(x=s["time_s"], y=[100 * v for v in s["kv_occupancy"]], mode="lines", name=name,
                                 legendgroup=str(i), line=dict(color=run_colour(i)), hovertemplate="%{x:.2f} s: %{y:.1f}%<extra></extra>"),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=s["time_s"], y=s["running"], mode="lines", name=name, legendgroup=str(i),
                                 showlegend=False, line=dict(color=run_colour(i)), hovertemplate="%{x:.2f} s: %{y:.0f} running<extra></extra>"),
                      row=2, col=1)
    fig.update_yaxes(range=[0, 102], row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title="simulated time (s)", row=2, col=1)
    return layout(fig, "KV cache occupancy and batch over time (simulated)", height=560)
