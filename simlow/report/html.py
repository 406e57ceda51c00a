"""One self-contained HTML page from figures: plotly.js is embedded once, no network needed.

``render_html`` takes ``Section``s (a heading, a figure, an id and notes) and returns the
page as text. The page loads nothing from anywhere: plotly.js comes from the installed
plotly package (``plotly.offline.get_plotlyjs()``), inlined in a ``<script>`` element.
The serialized inputs can be embedded as a JSON ``<script type="application/json"
id="simlow-data">`` element, so the page carries the data it was drawn from.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1200px;
color:#222;padding:0 1em}h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
p.note{color:#555;font-size:.92em;margin:.3em 0}section{overflow-x:auto}footer{color:#777;font-size:.85em;margin-top:3em}"""


@dataclass(frozen=True)
class Section:
    id: str                      # the figure's div id ("fig-roofline"); unique in a page
    heading: str
    figure: go.Figure
    notes: tuple[str, ...] = field(default=())


def _clean(x: Any) -> Any:
    """JSON-safe: non-finite floats become the strings "inf", "-inf", "nan"."""
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _json_script(data: Any) -> str:
    text = json.dumps(_clean(data), default=str, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/")


def render_html(title: str, sections: list[Section], data: Any = None, footer: str = "") -> str:
    """The whole page as text (see module doc)."""
    ids = [s.id for s in sections]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate section ids: {ids}")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title>", f"<style>{CSS}</style>",
             f'<script type="text/javascript">{get_plotlyjs()}</script>', "</head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for s in sections:
        parts.append(f'<section id="section-{html.escape(s.id)}"><h2>{html.escape(s.heading)}</h2>')
        parts += [f'<p class="note">{html.escape(n)}</p>' for n in s.notes]
        parts.append(s.figure.to_html(full_html=False, include_plotlyjs=False, div_id=s.id,
                                      config={"displaylogo": False, "responsive": True}))
        parts.append("</section>")
    if data is not None:
        parts.append(f'<script type="application/json" id="simlow-data">{_json_script(data)}</script>')
    if footer:
        parts.append(f"<footer>{html.escape(footer)}</footer>")
    parts.append("</body></html>")
    return "\n".join(parts)
