"""The claims verdict table: each claim, its numbers and its verdict, coloured by verdict.

Input: verdicts as ``simlow.check_claims`` serializes them; the columns shown are those of
``COLUMNS`` that any verdict carries, in that order (nested values are shown as JSON)::

    [{"claim": "m4-max-546", "candidate": "...", "metric": "decode_tok_s", "claimed": 100,
      "bound": 61.2, "simulated": 48.0, "verdict": "impossible", "sentence": "needs 1.41 TB/s ..."}, ...]

Each verdict needs a ``claim`` (or ``id``) naming it.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go

from simlow.report.data import require, rows_of
from simlow.report.style import NO_VERDICT_COLOUR, VERDICT_COLOURS, layout

COLUMNS = ("claim", "id", "candidate", "metric", "claimed", "bound", "simulated", "claimed_over_bound",
           "claimed_over_simulated", "verdict", "sentence", "reason")
WIDE = ("sentence", "reason", "candidate")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=str)
    return str(v)


def claims_figure(verdicts: list) -> go.Figure:
    """A table with one row per claim (see module doc)."""
    rows = rows_of(verdicts, "claims")
    for i, v in enumerate(rows):
        if "claim" not in v and "id" not in v:
            require(v, ("claim",), f"verdict {i}")
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    fill = [VERDICT_COLOURS.get(str(r.get("verdict")), NO_VERDICT_COLOUR) for r in rows]
    fig = go.Figure(go.Table(
        columnwidth=[3 if c in WIDE else 1 for c in cols],
        header=dict(values=[f"<b>{c}</b>" for c in cols], fill_color="#f0f0f0", align="left"),
        cells=dict(values=[[_cell(r.get(c)) for r in rows] for c in cols],
                   fill_color=[fill] * len(cols), align="left")))
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r.get("verdict", "no verdict"))] = counts.get(str(r.get("verdict", "no verdict")), 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    return layout(fig, f"Claims: {summary}", height=min(2400, 160 + 48 * len(rows)))
