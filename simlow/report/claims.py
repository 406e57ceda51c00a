"""The claims verdict table: each claim, its numbers and its verdict, coloured by verdict.

Input: verdicts as ``simlow.check_claims`` serializes them; the columns shown are those of
``COLUMNS`` that any verdict carries, in that order (nested values are shown as JSON)::

    [{"claim": "m4-max-546", "candidate": "...", "metric": "decode_tok_s", "claimed": 100,
      "bound": 61.2, "simulated": 48.0, "verdict": "impossible", "sentence": "needs 1.41 TB/s ..."}, ...]

Each verdict needs a ``claim`` (or ``id``) naming it. Nothing is cut: headers are words
(``HEADERS``), every column is at least as wide as its longest unbreakable word (an id, a
configuration), sentences wrap, and the figure is as tall as its wrapped rows. Numbers
are in their metric's unit (``UNITS``): memory in GiB (2^30 bytes), rates decimal as
vendors state them (GB/s, Top/s), speeds in tok/s, ratios as ``1.23x``.
"""

from __future__ import annotations

import json
import math

import plotly.graph_objects as go

from simlow.report.data import finite, require, rows_of
from simlow.report.style import NO_VERDICT_COLOUR, VERDICT_COLOURS, layout
from simlow.quantities import fmt_bytes

COLUMNS = ("claim", "id", "candidate", "metric", "claimed", "bound", "simulated", "claimed_over_bound",
           "claimed_over_simulated", "verdict", "sentence", "reason")
HEADERS = {"candidate": "configuration", "bound": "hard bound", "simulated": "simlow",
           "claimed_over_bound": "claimed / bound", "claimed_over_simulated": "claimed / simlow",
           "sentence": "why"}
WIDE = ("sentence", "reason", "candidate")
VALUE_COLUMNS = ("claimed", "bound", "simulated")
RATIO_COLUMNS = ("claimed_over_bound", "claimed_over_simulated")
WRAP_CHARS = {"sentence": 36, "reason": 36, "candidate": 22}   # where long text wraps (characters)
NARROW = 10                                                     # wrap width of the other columns
PX_PER_CHAR, PAD_PX, LINE_PX = 5.8, 16, 17                      # 12 px sans-serif in plotly tables
PAGE_PX = 1160                                                  # the report page's content width

_SI = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _si(v: float, unit: str) -> str:
    for f, p in _SI:
        if abs(v) >= f:
            return f"{v / f:.4g} {p}{unit}"
    return f"{v:.4g} {unit}"


def _seconds(v: float) -> str:
    return f"{v * 1e3:.4g} ms" if abs(v) < 1 else f"{v:.4g} s"


UNITS = {
    "decode_tok_s": lambda v: f"{v:,.4g} tok/s", "prefill_tok_s": lambda v: f"{v:,.4g} tok/s",
    "ttft_s": _seconds, "energy_j_per_token": lambda v: f"{v:.4g} J/token",
    "memory_bytes": fmt_bytes, "bits_per_weight": lambda v: f"{v:.4g} bits/weight",
    "max_context": lambda v: f"{v:,.0f} tokens", "memory_bandwidth": lambda v: _si(v, "B/s"),
    "compute_peak": lambda v: _si(v, "op/s"), "area_ratio": lambda v: f"{v:.3g}x",
    "clock_ratio": lambda v: f"{v:.3g}x",
}
METRIC_NAMES = {"decode_tok_s": "decode speed", "prefill_tok_s": "prefill speed", "ttft_s": "time to first token",
                "energy_j_per_token": "energy per token", "memory_bytes": "memory", "bits_per_weight": "bits per weight",
                "fits": "fits", "max_context": "longest context", "memory_bandwidth": "memory bandwidth",
                "compute_peak": "compute peak", "area_ratio": "area ratio", "clock_ratio": "clock ratio"}
# A "fits" claim is yes/no; its bound is the usable capacity and simlow's figure the bytes needed.
FITS_UNITS = {"claimed": None, "bound": fmt_bytes, "simulated": fmt_bytes}


def _cell(v, column: str = "", row: dict | None = None) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    row = row or {}
    if column == "metric":
        return METRIC_NAMES.get(str(v), str(v))
    if column in VALUE_COLUMNS and isinstance(v, dict) and "sense" in v:   # a claimed range or limit
        one = lambda x: _cell(x, column, row)  # noqa: E731
        if v["sense"] == "at_least":
            return f"at least {one(v.get('low'))}"
        if v["sense"] == "at_most":
            return f"at most {one(v.get('high'))}"
        return f"{one(v.get('low'))} to {one(v.get('high'))}"
    if column in VALUE_COLUMNS and finite(v):
        if row.get("relative"):
            return f"{v:.3g}x"
        metric = str(row.get("metric"))
        fmt = FITS_UNITS.get(column) if metric == "fits" else UNITS.get(metric)
        if fmt is not None:
            return fmt(v)
    if column in RATIO_COLUMNS and finite(v):
        return f"{v:.3g}x"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=str)
    return str(v)


def _widths(cols: list[str], header: list[str], cells: list[list[str]]) -> list[int]:
    """Characters per column: the longest unbreakable word, or the longest cell up to its wrap width."""
    out = []
    for c, h, values in zip(cols, header, cells):
        words = max((len(w) for text in [h, *values] for w in text.split()), default=1)
        longest = max((len(t) for t in [h, *values]), default=1)
        out.append(max(words, min(longest, WRAP_CHARS.get(c, NARROW))))
    return out


def _height(header: list[str], cells: list[list[str]], widths: list[int]) -> int:
    rows = len(cells[0]) if cells else 0
    lines = [max(math.ceil(len(col[i]) / max(w - 2, 1)) or 1 for col, w in zip(cells, widths)) for i in range(rows)]
    head = max(math.ceil(len(h) / max(w - 1, 1)) for h, w in zip(header, widths))
    return 150 + LINE_PX * head + sum(LINE_PX * n + 10 for n in lines)


def claims_figure(verdicts: list) -> go.Figure:
    """A table with one row per claim (see module doc)."""
    rows = rows_of(verdicts, "claims")
    for i, v in enumerate(rows):
        if "claim" not in v and "id" not in v:
            require(v, ("claim",), f"verdict {i}")
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    header = [HEADERS.get(c, c) for c in cols]
    cells = [[_cell(r.get(c), c, r) for r in rows] for c in cols]
    widths = _widths(cols, header, cells)
    fill = [VERDICT_COLOURS.get(str(r.get("verdict")), NO_VERDICT_COLOUR) for r in rows]
    fig = go.Figure(go.Table(
        columnwidth=[PX_PER_CHAR * w + PAD_PX for w in widths],
        header=dict(values=[f"<b>{h}</b>" for h in header], fill_color="#f0f0f0", align="left"),
        cells=dict(values=cells, fill_color=[fill] * len(cols), align="left", height=LINE_PX + 6)))
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r.get("verdict", "no verdict"))] = counts.get(str(r.get("verdict", "no verdict")), 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    fig = layout(fig, f"Claims: {summary}", height=_height(header, cells, widths))
    need = int(sum(PX_PER_CHAR * w + PAD_PX for w in widths)) + 20
    fig.update_layout(width=max(PAGE_PX, need), autosize=False,
                      margin=dict(l=10, r=10, t=60, b=20))
    return fig
