"""Shared look of every report figure: one colour per limiting resource, one template.

Colours are fixed per name (not assigned in order of appearance) so the same bound has the
same colour in every figure of a report and across reports.
"""

from __future__ import annotations

BOUND_COLOURS = {
    "memory": "#1f77b4",     # DRAM / HBM bandwidth
    "compute": "#d62728",    # arithmetic peak
    "link": "#9467bd",       # host link (PCIe, C2C): offload traffic
    "overhead": "#7f7f7f",   # launch / dispatch overhead
    "latency": "#8c564b",
}
OTHER_COLOUR = "#bcbd22"

VERDICT_COLOURS = {
    "impossible": "#f4a6a6",
    "implausible": "#f9d29d",
    "plausible": "#b7e4b0",
    "conservative": "#a9cbe8",
    "cannot answer": "#e5e5e5",
}
NO_VERDICT_COLOUR = "#e5e5e5"

MEMORY_PART_COLOURS = {"kv_cache": "#ff7f0e", "activations": "#2ca02c"}
WEIGHT_COLOURS = ("#1f77b4", "#4a90c9", "#6baed6", "#9ecae1", "#3182bd", "#08519c", "#c6dbef")

TEMPLATE = "plotly_white"


def bound_colour(bound: str) -> str:
    return BOUND_COLOURS.get(str(bound), OTHER_COLOUR)


def layout(fig, title: str, height: int = 460):
    """Apply the common layout; returns ``fig`` for chaining."""
    fig.update_layout(title=title, template=TEMPLATE, height=height,
                      margin=dict(l=70, r=30, t=60, b=60), legend=dict(orientation="h", y=-0.18))
    return fig
