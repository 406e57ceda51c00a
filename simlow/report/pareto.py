"""Pareto fronts of a sweep: tokens/s against energy per token against silicon area.

Input: sweep rows (``simlow.sweep`` writes them; any list of flat mappings will do)::

    [{"hw": "npu-a", "scheme": "q4_0", "batch": 1, "decode_tok_s": 41.2,
      "energy_j_per_token": 0.31, "area_mm2": 12.5}, ...]

``pareto_mask`` is the definition: a row is on the front when no other row is at least as
good in every objective and strictly better in one (``max`` objectives larger is better,
``min`` smaller). Rows with a missing or non-finite objective, an ``error``, or
``fits: false`` take no part in the front; they are drawn grey. Equal rows do not dominate
each other, so duplicates of a front point are all on the front.

Every point carries a label made of the settings that vary across the rows (``label_keys``:
the non-objective columns with more than one value, e.g. ``q4_0 · batch 4``); front points
show it beside the marker, every point in its hover.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from simlow.errors import SimlowError
from simlow.report.data import finite, rows_of
from simlow.report.style import layout

DEFAULT_OBJECTIVES = (("decode_tok_s", "max"), ("energy_j_per_token", "min"), ("area_mm2", "min"))
UNITS = {"decode_tok_s": "decode tokens / s", "prefill_tok_s": "prefill tokens / s",
         "energy_j_per_token": "energy per token (J)", "area_mm2": "area (mm²)", "ttft_s": "time to first token (s)",
         "kl_mean": "mean KL to float (nats)"}
BOOKKEEPING = ("sweep", "index", "error", "elapsed_s")


def eligible(row: Mapping, keys: Sequence[str]) -> bool:
    return (not row.get("error") and row.get("fits", True) is not False
            and all(finite(row.get(k)) for k in keys))


def pareto_mask(rows: Sequence[Mapping], objectives: Sequence[tuple[str, str]]) -> np.ndarray:
    """Boolean array: row i is Pareto-optimal among the eligible rows (see module doc)."""
    keys = [k for k, _ in objectives]
    for k, sense in objectives:
        if sense not in ("max", "min"):
            raise SimlowError(f"objective {k!r}: sense must be 'max' or 'min', got {sense!r}")
    ok = np.array([eligible(r, keys) for r in rows], dtype=bool)
    # Larger is better in every column of `v`.
    v = np.array([[(r[k] if sense == "max" else -r[k]) if ok[i] else 0.0 for k, sense in objectives]
                  for i, r in enumerate(rows)], dtype=float).reshape(len(rows), len(keys))
    front = ok.copy()
    for i in np.flatnonzero(ok):
        others = v[ok]
        dominated = np.any(np.all(others >= v[i], axis=1) & np.any(others > v[i], axis=1))
        front[i] = not dominated
    return front


def _objectives_present(rows: Sequence[Mapping], objectives) -> list[tuple[str, str]]:
    return [(k, s) for k, s in objectives if any(finite(r.get(k)) for r in rows)]


def label_keys(rows: Sequence[Mapping], objectives: Sequence[str]) -> list[str]:
    """The settings that tell the rows apart: scalar columns, other than the objectives and
    bookkeeping, holding more than one value (``index`` when none does)."""
    keys = dict.fromkeys(k for r in rows for k, v in r.items() if isinstance(v, (str, int, bool))
                         and not isinstance(v, float) and k not in objectives and k not in BOOKKEEPING
                         and k not in ("fits",))
    varying = [k for k in keys if len({repr(r.get(k)) for r in rows}) > 1]
    return varying or ["index"]


def point_label(row: Mapping, keys: Sequence[str]) -> str:
    """``"q4_0 · batch 4"``: text values as they are, numbers after their column's name."""
    parts = [str(row[k]) if isinstance(row[k], str) else f"{k} {row[k]}" for k in keys if row.get(k) is not None]
    return " · ".join(parts) or f"#{row.get('index', '?')}"


def _hover(row: Mapping, skip: Sequence[str]) -> str:
    return "<br>".join(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}"
                       for k, v in row.items() if k not in skip and k not in BOOKKEEPING
                       and isinstance(v, (str, int, float, bool)))


def pareto_figure(rows: list, objectives: Sequence[tuple[str, str]] = DEFAULT_OBJECTIVES) -> go.Figure:
    """One panel per pair (first objective vs each other), front points highlighted."""
    rows = rows_of(rows, "pareto")
    objs = _objectives_present(rows, objectives)
    if len(objs) < 2:
        raise SimlowError(f"pareto: rows need at least two of {', '.join(k for k, _ in objectives)} "
                          f"with numbers; found {', '.join(k for k, _ in objs) or 'none'}")
    front = pareto_mask(rows, objs)
    keys = [k for k, _ in objs]
    ok = np.array([eligible(r, keys) for r in rows])
    (xk, _), others = objs[0], objs[1:]
    fig = make_subplots(rows=1, cols=len(others), horizontal_spacing=0.1)
    lkeys = label_keys(rows, keys)
    labels = [point_label(r, lkeys) for r in rows]
    hover = [f"<b>{labels[i]}</b><br>{_hover(r, ())}" for i, r in enumerate(rows)]
    for col, (yk, _) in enumerate(others, start=1):
        for mask, name, style in ((~ok, "excluded (error or does not fit)", dict(color="#cccccc", size=6)),
                                  (ok & ~front, "dominated", dict(color="#9ecae1", size=7)),
                                  (front, "Pareto front", dict(color="#d62728", size=10, symbol="star"))):
            idx = [i for i in np.flatnonzero(mask) if finite(rows[i].get(xk)) and finite(rows[i].get(yk))]
            on_front = mask is front
            fig.add_trace(go.Scatter(x=[rows[i][xk] for i in idx], y=[rows[i][yk] for i in idx],
                                     mode="markers+text" if on_front else "markers", name=name, legendgroup=name,
                                     showlegend=col == 1, marker=style,
                                     text=[hover[i] for i in idx], hovertemplate="%{text}<extra></extra>",
                                     customdata=[labels[i] for i in idx], texttemplate="%{customdata}",
                                     textposition="top center", textfont=dict(size=10)),
                          row=1, col=col)
        fig.update_xaxes(title=UNITS.get(xk, xk), row=1, col=col)
        fig.update_yaxes(title=UNITS.get(yk, yk), row=1, col=col)
    n = int(front.sum())
    return layout(fig, f"Pareto front over {', '.join(keys)}: {n} of {len(rows)} points", height=500)
