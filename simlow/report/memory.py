"""Memory breakdown against capacity: weights (by part), KV cache, activations.

Input: one or more memory footprints as ``FitResult.to_dict()`` gives them (or their
``memory`` entry)::

    {"model": "llama-2-7b", "hw": "h100-sxm", "scheme": "q4_0",
     "memory": {"weights_bytes": {"attention": ..., "ffn": ...}, "kv_cache_bytes": ...,
                "activation_bytes": ..., "capacity_bytes": ..., "usable_bytes": ..., "ctx": 4096,
                "batch": 1}}

One stacked bar per footprint (GiB, 2^30 bytes, as ``simlow fit`` prints them), with a tick at each bar's usable capacity
and one at its full capacity, so several configurations (KV formats, contexts) compare in
one picture.
"""

from __future__ import annotations

import plotly.graph_objects as go

from simlow.report.data import require
from simlow.report.style import MEMORY_PART_COLOURS, WEIGHT_COLOURS, layout

GIB = 2**30
KEYS = ("weights_bytes", "kv_cache_bytes", "activation_bytes", "capacity_bytes", "usable_bytes")


def _label(d: dict, m: dict, i: int) -> str:
    if "label" in d:
        return str(d["label"])
    parts = [str(d[k]) for k in ("model", "scheme", "hw") if k in d]
    extra = [f"ctx {m['ctx']}" if "ctx" in m else "", f"x{m['batch']}" if m.get("batch", 1) != 1 else ""]
    return " / ".join(parts + [e for e in extra if e]) or f"#{i + 1}"


def memory_figure(footprints: list | dict) -> go.Figure:
    """Stacked bars of bytes by part, with usable and total capacity marks (see module doc)."""
    items = footprints if isinstance(footprints, list) else [footprints]
    mems = [require(d.get("memory", d) if isinstance(d, dict) else d, KEYS, f"memory footprint {i}")
            for i, d in enumerate(items)]
    labels = [_label(d, m, i) for i, (d, m) in enumerate(zip(items, mems))]
    parts = list(dict.fromkeys(p for m in mems for p in m["weights_bytes"]))
    fig = go.Figure()
    for j, part in enumerate(parts):
        fig.add_trace(go.Bar(x=labels, y=[m["weights_bytes"].get(part, 0) / GIB for m in mems],
                             name=f"weights: {part}", marker_color=WEIGHT_COLOURS[j % len(WEIGHT_COLOURS)],
                             hovertemplate=f"weights: {part}<br>%{{y:.3f}} GiB<extra></extra>"))
    for key, name in (("kv_cache_bytes", "kv_cache"), ("activation_bytes", "activations")):
        fig.add_trace(go.Bar(x=labels, y=[m[key] / GIB for m in mems], name=name.replace("_", " "),
                             marker_color=MEMORY_PART_COLOURS[name],
                             hovertemplate=f"{name}<br>%{{y:.3f}} GiB<extra></extra>"))
    for key, name, dash, colour in (("usable_bytes", "usable capacity", "line-ew", "crimson"),
                                    ("capacity_bytes", "capacity", "line-ew", "black")):
        fig.add_trace(go.Scatter(x=labels, y=[m[key] / GIB for m in mems], mode="markers", name=name,
                                 marker=dict(symbol=dash, size=46, color=colour, line=dict(width=3, color=colour)),
                                 hovertemplate=f"{name} %{{y:.3f}} GiB<extra></extra>"))
    fig.update_layout(barmode="stack", bargap=0.5 if len(mems) > 1 else 0.7)
    fig.update_yaxes(title="GiB (2^30 bytes)", rangemode="tozero")
    return layout(fig, "Memory: weights, KV cache and activations vs capacity")
