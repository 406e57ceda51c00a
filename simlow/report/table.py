"""A plain table of rows, for sweeps whose rows have no objectives to put on a front."""

from __future__ import annotations

import plotly.graph_objects as go

from simlow.report.data import rows_of
from simlow.report.style import layout

MAX_ROWS = 500


def _cell(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else "" if v is None else str(v)


def table_figure(rows: list, title: str = "Sweep results") -> go.Figure:
    """Every scalar column of ``rows`` (first ``MAX_ROWS`` rows; the title says if cut)."""
    rows = rows_of(rows, "table")
    cols = list(dict.fromkeys(k for r in rows for k, v in r.items() if not isinstance(v, (dict, list))))
    shown = rows[:MAX_ROWS]
    fig = go.Figure(go.Table(header=dict(values=[f"<b>{c}</b>" for c in cols], fill_color="#f0f0f0", align="left"),
                             cells=dict(values=[[_cell(r.get(c)) for r in shown] for c in cols], align="left")))
    cut = f" (first {MAX_ROWS} of {len(rows)})" if len(rows) > MAX_ROWS else f" ({len(rows)} rows)"
    return layout(fig, title + cut, height=min(1600, 200 + 30 * len(shown)))
