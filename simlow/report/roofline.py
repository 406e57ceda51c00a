"""The roofline of a device with a prediction's ops placed on it.

Input (plain data, see ``simlow.report.data``)::

    {"device": "h100-sxm",
     "bandwidth_Bps": 3.35e12,                      # main-memory bandwidth
     "peak_ops": {"bf16": 9.89e14, "int8": 1.98e15}, # ops/s per compute format (1 MAC = 2 ops)
     "ops": [{"op": "layers0.attn_q", "phase": "decode", "flops": 6.7e7, "bytes": 1.1e7,
              "duration_s": 4.1e-6, "bound": "memory", "format": "bf16"}, ...]}

(ops as ``Prediction.timeline`` lists them; ``name`` and ``time_s`` are accepted for ``op``
and ``duration_s``). Each op sits at x = arithmetic intensity (flops / bytes moved) and
y = the rate it attained (flops / duration). An op without a duration sits on the roof (min(peak, bandwidth x
intensity) of its format, or of the highest peak) and its hover says so. Ops that move no
bytes or do no arithmetic have no place on log axes; the figure's subtitle counts them.
"""

from __future__ import annotations

import plotly.graph_objects as go

from simlow.errors import SimlowError
from simlow.report.data import finite, require
from simlow.report.style import bound_colour, layout

PHASE_SYMBOLS = {"prefill": "square", "decode": "circle"}


def roof(peak_ops: float, bandwidth_Bps: float, intensity: float) -> float:
    """Attainable ops/s at ``intensity`` ops/byte: min(peak, bandwidth x intensity)."""
    return min(peak_ops, bandwidth_Bps * intensity)


def _placed(op: dict, peaks: dict, bw: float) -> tuple[float, float, bool] | None:
    flops, nbytes = op.get("flops"), op.get("bytes")
    if not (finite(flops) and finite(nbytes)) or flops <= 0 or nbytes <= 0:
        return None
    x = flops / nbytes
    t = op.get("duration_s", op.get("time_s"))
    if finite(t) and t > 0:
        return x, flops / t, True
    peak = peaks.get(op.get("format"), max(peaks.values()))
    return x, roof(peak, bw, x), False


def _ceilings(fig: go.Figure, peaks: dict, bw: float, xlo: float, xhi: float) -> None:
    for fmt, peak in sorted(peaks.items(), key=lambda kv: kv[1]):
        ridge = peak / bw
        xs = [xlo] + ([ridge] if xlo < ridge < xhi else []) + [xhi]
        fig.add_trace(go.Scatter(x=xs, y=[roof(peak, bw, x) for x in xs], mode="lines",
                                 name=f"roof {fmt} ({peak / 1e12:g} Tops/s)", line=dict(width=1.5),
                                 hovertemplate=f"{fmt} peak {peak / 1e12:g} Tops/s<br>ridge at "
                                               f"{ridge:.3g} ops/B<extra></extra>"))


def roofline_figure(d: dict) -> go.Figure:
    """The device's roofs (one per compute format) and each op as a marker (see module doc)."""
    require(d, ("device", "bandwidth_Bps", "peak_ops", "ops"), "roofline")
    peaks = {k: float(v) for k, v in d["peak_ops"].items() if finite(v) and v > 0}
    bw = float(d["bandwidth_Bps"])
    if not peaks:
        raise SimlowError(f"roofline of {d['device']}: peak_ops has no positive rate")
    groups: dict[tuple[str, str], list] = {}
    unplaced = 0
    for op in d["ops"]:
        p = _placed(op, peaks, bw)
        if p is None:
            unplaced += 1
            continue
        groups.setdefault((str(op.get("bound", "?")), str(op.get("phase", ""))), []).append((op, p))
    xs = [p[0] for g in groups.values() for _, p in g]
    xlo = min(xs + [0.5]) / 4
    xhi = max(xs + [max(peaks.values()) / bw * 4])
    fig = go.Figure()
    _ceilings(fig, peaks, bw, xlo, xhi * 4)
    for (bound, phase), items in sorted(groups.items()):
        fig.add_trace(go.Scatter(
            x=[p[0] for _, p in items], y=[p[1] for _, p in items], mode="markers",
            name=f"{phase} ops: {bound}-bound" if phase else f"{bound}-bound ops",
            marker=dict(color=bound_colour(bound), symbol=PHASE_SYMBOLS.get(phase, "diamond"), size=9,
                        line=dict(width=0.5, color="black")),
            customdata=[[op.get("op", op.get("name", "?")), op["flops"], op["bytes"],
                         op.get("duration_s", op.get("time_s")),
                         "timed" if p[2] else "on the roof (no time given)"] for op, p in items],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]:.4g} ops, %{customdata[2]:.4g} B<br>"
                          "intensity %{x:.3g} ops/B, attained %{y:.4g} ops/s<br>time %{customdata[3]} s"
                          "<br>%{customdata[4]}<extra></extra>"))
    note = f" ({unplaced} ops without arithmetic or bytes not shown)" if unplaced else ""
    fig.update_xaxes(type="log", title="arithmetic intensity (ops / byte)")
    fig.update_yaxes(type="log", title="attained ops / s")
    return layout(fig, f"Roofline of {d['device']}{note}", height=520)
