"""Per-op timeline (Gantt) of a prefill and a decode step, coloured by what bounds each op.

Input (plain data)::

    [{"op": "layers0.attn_q", "phase": "decode", "start_s": 0.0, "duration_s": 4.1e-6,
      "bound": "memory"}, ...]

(``Prediction.timeline`` entries; ``name`` for ``op`` and ``end_s`` for ``start_s +
duration_s`` are accepted too.) One panel per phase, in the order phases first appear.
An entry that stands for a group of identical layers (``"layers": [0, 1, ...]``, as
``Prediction.timeline`` gives it) is one bar whose length is the sum over those layers;
its row says so: ``layers0.attn_q · layers 0-31 (x32)`` (the range is shortened with
``…`` when long; the hover has it whole).
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


SPAN_CHARS = 24   # longest layer range written out in a row label (the hover has it whole)
ROW_PX = 17       # height of one row, so that plotly writes every row's label


def _name(op: dict) -> str:
    return str(op.get("op") or op.get("name") or "?")


def layer_span(layers) -> str:
    """``[0, 1, 2, 3, 6, 9]`` -> ``"0-3,6,9"``."""
    runs: list[list[int]] = []
    for n in sorted(int(x) for x in layers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)


def short_span(span: str, limit: int = SPAN_CHARS) -> str:
    """``span`` cut to about ``limit`` characters at a comma, keeping its last run: ``0-3,6,…,27-31``."""
    if len(span) <= limit:
        return span
    parts = span.split(",")
    head = []
    while len(",".join(head + [parts[len(head)]])) <= limit - len(parts[-1]) - 3:   # ",…," is 3
        head.append(parts[len(head)])
    return ",".join(head + ["…", parts[-1]])


def op_label(op: dict) -> str:
    """The row label of one entry: its name, and for a layer group the layers and repeat count."""
    layers = op.get("layers") or ()
    if not layers:
        return _name(op)
    return f"{_name(op)} · layers {short_span(layer_span(layers))} (x{len(layers)})"


def _bar(i: int, op: dict) -> dict:
    """``{"name", "lane", "bound", "start_s", "end_s"}`` of one timeline entry, checked."""
    s = op.get("start_s")
    e = op["end_s"] if "end_s" in op else (s + op["duration_s"] if finite(s) and finite(op.get("duration_s")) else None)
    if not (finite(s) and finite(e)) or e < s:
        raise SimlowError(f"timeline: op {i} ({_name(op)}) needs a start_s and an end_s or duration_s >= 0, "
                          f"got {op.get('start_s')!r}, {op.get('end_s', op.get('duration_s'))!r}")
    layers = op.get("layers") or ()
    return {"name": _name(op), "lane": str(op.get("lane") or op.get("engine") or op_label(op)),
            "bound": str(op.get("bound", "?")), "start_s": s, "end_s": e,
            "repeat": len(layers) or 1, "span": layer_span(layers) if layers else ""}


def _phases(ops: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for i, op in enumerate(ops):
        out.setdefault(str(op.get("phase", "step")), []).append(_bar(i, op))
    return out


def _group(o: dict) -> str:
    if o["repeat"] == 1 and not o["span"]:
        return ""
    per = 1e6 * (o["end_s"] - o["start_s"]) / o["repeat"]
    return f"<br>layers {o['span']}: {o['repeat']} identical layers, summed ({per:.4g} µs per layer)"


def _panel_title(phase: str, v: list) -> str:
    span = max(o["end_s"] for o in v) - min(o["start_s"] for o in v)
    took = f"{span * 1e3:.4g} ms" if span >= 1e-3 else f"{span * 1e6:.4g} µs"
    grouped = sum(o["repeat"] > 1 for o in v)
    note = f"; {grouped} bars each sum a group of identical layers (xN)" if grouped else ""
    return f"{phase}: {len(v)} ops, {took}{note}"


def timeline_figure(ops: list) -> go.Figure:
    """A Gantt panel per phase (see module doc)."""
    phases = _phases(rows_of(ops, "timeline"))
    lanes_per = [len({o["lane"] for o in v}) for v in phases.values()]
    panel_px = [max(260, ROW_PX * n + 60) for n in lanes_per]       # room for every row's label
    fig = make_subplots(rows=len(phases), cols=1, vertical_spacing=90 / (sum(panel_px) + 90 * len(phases)),
                        row_heights=panel_px,
                        subplot_titles=[_panel_title(p, v) for p, v in phases.items()])
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
                customdata=[[o["name"], 1e6 * (o["start_s"] - t0), 1e6 * (o["end_s"] - o["start_s"]), _group(o)]
                            for o in group],
                hovertemplate="%{customdata[0]}%{customdata[3]}<br>start %{customdata[1]:.4g} µs, "
                              f"%{{customdata[2]:.4g}} µs<br>{bound}-bound<extra></extra>"), row=row, col=1)
            shown.add(bound)
        lanes = list(dict.fromkeys(o["lane"] for o in sorted(items, key=lambda o: o["start_s"])))
        fig.update_yaxes(categoryorder="array", categoryarray=lanes, autorange="reversed", row=row, col=1)
        fig.update_xaxes(title="µs from the phase start", row=row, col=1)
    fig.update_layout(barmode="overlay")        # rows in execution order, top to bottom
    return layout(fig, "Per-op timeline", height=200 + sum(panel_px) + 90 * len(phases))
