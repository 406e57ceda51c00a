"""Per-op timeline (Gantt) of a prefill and a decode step, coloured by what bounds each op.

Input (plain data)::

    [{"op": "layers0.attn_q", "phase": "decode", "start_s": 0.0, "duration_s": 4.1e-6,
      "bound": "memory"}, ...]

(``Prediction.timeline`` entries; ``name`` for ``op`` and ``end_s`` for ``start_s +
duration_s`` are accepted too.) One panel per phase, in the order phases first appear.
Each op is a horizontal bar from its start to its end (drawn in microseconds from the
phase's first start) on the row
named by ``lane`` (an engine or a memory channel; ``engine`` is accepted too; without
either, each op gets its own row). Ops that overlap in time on one lane overlap in the
picture; that is what the simulator reported, not a drawing artefact.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from simlow.errors import SimlowError
from simlow.report.data import finite, rows_of
from simlow.report.style import bound_colour, layout


def _name(op: dict) -> str:
    return str(op.get("op") or op.get("name") or "?")


def _bar(i: int, op: dict) -> dict:
    """``{"name", "lane", "bound", "start_s", "end_s"}`` of one timeline entry, checked."""
    s = op.get("start_s")
    e = op["end_s"] if "end_s" in op else (s + op["duration_s"] if finite(s) and finite(op.get("duration_s")) else None)
    if not (finite(s) and finite(e)) or e < s:
        raise SimlowError(f"timeline: op {i} ({_name(op)}) needs a start_s and an end_s or duration_s >= 0, "
                          f"got {op.get('start_s')!r}, {op.get('end_s', op.get('duration_s'))!r}")
    return {"name": _name(op), "lane": str(op.get("lane") or op.get("engine") or _name(op)),
            "bound": str(op.get("bound", "?")), "start_s": s, "end_s": e}


def _phases(ops: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for i, op in enumerate(ops):
        out.setdefault(str(op.get("phase", "step")), []).append(_bar(i, op))
    return out


def timeline_figure(ops: list) -> go.Figure:
    """A Gantt panel per phase (see module doc)."""
    phases = _phases(rows_of(ops, "timeline"))
    fig = make_subplots(rows=len(phases), cols=1, vertical_spacing=0.12,
                        subplot_titles=[f"{p}: {len(v)} ops, {1e6 * (max(o['end_s'] for o in v) - min(o['start_s'] for o in v)):.4g} µs"
                                        for p, v in phases.items()])
    shown: set[str] = set()
    for row, items in enumerate(phases.values(), start=1):
        t0 = min(o["start_s"] for o in items)
        by_bound: dict[str, list] = {}
        for op in items:
            by_bound.setdefault(op["bound"], []).append(op)
        for bound, group in sorted(by_bound.items()):
            fig.add_trace(go.Bar(
                orientation="h", y=[o["lane"] for o in group],
                base=[1e6 * (o["start_s"] - t0) for o in group],
                x=[1e6 * (o["end_s"] - o["start_s"]) for o in group],
                name=f"{bound}-bound", legendgroup=bound, showlegend=bound not in shown,
                marker=dict(color=bound_colour(bound), line=dict(width=0.3, color="white")),
                customdata=[[o["name"], 1e6 * (o["start_s"] - t0), 1e6 * (o["end_s"] - o["start_s"])]
                            for o in group],
                hovertemplate="%{customdata[0]}<br>start %{customdata[1]:.4g} µs, "
                              f"%{{customdata[2]:.4g}} µs<br>{bound}-bound<extra></extra>"), row=row, col=1)
            shown.add(bound)
        lanes = list(dict.fromkeys(o["lane"] for o in sorted(items, key=lambda o: o["start_s"])))
        fig.update_yaxes(categoryorder="array", categoryarray=lanes, autorange="reversed", row=row, col=1)
        fig.update_xaxes(title="µs from the phase start", row=row, col=1)
    fig.update_layout(barmode="overlay")        # rows in execution order, top to bottom
    return layout(fig, "Per-op timeline", height=300 + 260 * len(phases))
