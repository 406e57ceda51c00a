"""``report(...)``: serialized results -> sections -> one self-contained HTML page.

Which figures a page holds follows from what it is given:

=============  ==========================================================================
prediction     memory breakdown; roofline of the device with the prediction's ops on it;
               per-op timeline of prefill and decode (when the prediction carries one)
fit            memory breakdown of one or more footprints (``FitResult`` or its dict)
sweep          Pareto front when rows carry two of tokens/s, energy/token, area; else a table
designs        a design sweep's rows (``simlow.lm.sweep``): Pareto front of quality (mean
               KL to float) against energy/token and area, where priced; else a table
quant          error per format
claims         the verdict table
serving        latency CDFs and KV occupancy over time of one or more serving runs, and
               throughput / TTFT against offered rate when two or more open-loop runs differ
               in rate (``simlow.report.serving``)
=============  ==========================================================================

Each input may be a result object, its ``to_dict()``, or a path to a saved ``.json`` /
``.jsonl``; everything is turned into plain data first (``simlow.report.data.as_data``),
and the figures are pure functions of that data. The page embeds the data it was drawn
from. The only thing read besides the inputs: when a prediction does not carry its
device's peak rates and bandwidth, the hardware spec named by its ``hw`` is loaded for the
roofline's roofs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simlow.errors import SimlowError
from simlow.report.claims import claims_figure
from simlow.report.data import as_data, finite
from simlow.report.html import Section, render_html
from simlow.report.memory import memory_figure
from simlow.report.pareto import DEFAULT_OBJECTIVES, _objectives_present, pareto_figure
from simlow.report.quanterr import quant_error_figure
from simlow.report.roofline import roofline_figure
from simlow.report.serving import kv_timeline_figure, latency_cdf_figure, throughput_rate_figure
from simlow.report.table import table_figure
from simlow.report.timeline import timeline_figure


def device_roofs(hw: Any, engine: str | None = None) -> dict:
    """``{"device", "bandwidth_Bps", "peak_ops"}`` of a hardware spec (object, name or path):
    the named engine's peak rates (default the primary engine) and its memory's bandwidth."""
    from simlow.specs import load_hw

    spec = load_hw(hw)
    eng = spec.engine(engine) if engine else spec.primary
    name = spec.name if len(spec.engines) == 1 else f"{spec.name} ({eng.name})"
    return {"device": name, "bandwidth_Bps": spec.memory(eng.memory).bandwidth_Bps, "peak_ops": dict(eng.peak_ops)}


def roofline_data(prediction: dict, roofs: dict) -> dict:
    """The roofline figure's input from a prediction dict and its device's roofs."""
    ops = prediction.get("ops") or [o for o in prediction.get("timeline") or [] if "flops" in o]
    return {**roofs, "ops": ops}


def prediction_sections(p: dict, roofs: dict | None) -> list[Section]:
    label = " / ".join(str(p[k]) for k in ("model", "scheme", "hw") if k in p)
    out = []
    if isinstance(p.get("memory"), dict):
        out.append(Section("fig-memory", f"Memory: {label}", memory_figure([p])))
    if roofs is not None and (p.get("ops") or p.get("timeline")):
        out.append(Section("fig-roofline", f"Roofline: {label}", roofline_figure(roofline_data(p, roofs))))
    if p.get("timeline"):
        out.append(Section("fig-timeline", f"Timeline: {label}", timeline_figure(p["timeline"]),
                           ("Bars are the simulator's per-op start and end times, coloured by the resource that bounds each op.",)))
    line = headline(p)
    if out and line:
        out[0] = Section(out[0].id, out[0].heading, out[0].figure, (line,))
    return out


def headline(p: dict) -> str:
    """The prediction in one line, in human units with what bounds each phase:
    ``prefill 10,757.5 tok/s (compute-bound); decode 145.24 tok/s (memory-bound); ...``."""
    bound = p.get("bound") if isinstance(p.get("bound"), dict) else {}
    parts = []
    for key, phase, fmt in (("prefill_tok_s", "prefill", "{:,.1f} tok/s"), ("decode_tok_s", "decode", "{:,.2f} tok/s")):
        if finite(p.get(key)):
            parts.append(f"{phase} {fmt.format(p[key])}" + (f" ({bound[phase]}-bound)" if phase in bound else ""))
    if finite(p.get("ttft_s")):
        parts.append(f"time to first token {p['ttft_s'] * 1e3:,.2f} ms")
    if finite(p.get("energy_j_per_token")):
        parts.append(f"energy {p['energy_j_per_token']:.3f} J/token (modelled)")
    if isinstance(p.get("fits"), bool):
        parts.append("fits in memory" if p["fits"] else "does NOT fit in memory")
    return "; ".join(parts)


FRONT_NOTE = "Hover a point for its settings. Red stars: no other point is at least as good in every objective."
DESIGN_OBJECTIVES = (("kl_mean", "min"), ("energy_j_per_token", "min"), ("area_mm2", "min"))


def sweep_sections(rows: list, objectives=DEFAULT_OBJECTIVES, ids=("fig-pareto", "fig-sweep"),
                   title: str = "Sweep") -> list[Section]:
    """A Pareto front of ``rows`` when two ``objectives`` have numbers, else their table."""
    if len(_objectives_present(rows, objectives)) >= 2:
        return [Section(ids[0], f"{title}: Pareto front", pareto_figure(rows, objectives), (FRONT_NOTE,))]
    return [Section(ids[1], f"{title} results", table_figure(rows))]


def serving_sections(runs: list) -> list[Section]:
    """The serving figures of one or more serving results (see the module docstring)."""
    out = []
    rates = {r.get("config", {}).get("rate") for r in runs} - {None}
    if len(rates) >= 2:
        out.append(Section("fig-serving-rate", "Serving: throughput against offered rate", throughput_rate_figure(runs),
                           ("Each point is one simulated run at that Poisson rate; TTFT on a log axis.",)))
    out.append(Section("fig-serving-cdf", "Serving: latency distributions", latency_cdf_figure(runs)))
    out.append(Section("fig-serving-kv", "Serving: KV cache occupancy and running requests", kv_timeline_figure(runs),
                       ("Sampled at the scheduler's steps (thinned to about 400 points a run).",)))
    return out


def sections(prediction=None, fit=None, sweep=None, quant=None, claims=None, hw=None,
             designs=None, serving=None) -> tuple[list[Section], dict]:
    """The page's sections and the plain data they were drawn from."""
    data: dict = {}
    out: list[Section] = []
    if prediction is not None:
        p = data["prediction"] = as_data(prediction)
        roofs = None
        if "peak_ops" in p and "bandwidth_Bps" in p:
            roofs = {"device": p.get("hw", "device"), "bandwidth_Bps": p["bandwidth_Bps"], "peak_ops": p["peak_ops"]}
        elif hw is not None or "hw" in p:
            roofs = device_roofs(hw if hw is not None else p["hw"], p.get("engine"))
        out += prediction_sections(p, roofs)
    if fit is not None:
        f = data["fit"] = as_data(fit)
        out.append(Section("fig-fit-memory", "Memory fit", memory_figure(f)))
    if sweep is not None:
        out += sweep_sections(data.setdefault("sweep", as_data(sweep)))
    if designs is not None:
        out += sweep_sections(data.setdefault("designs", as_data(designs)), DESIGN_OBJECTIVES,
                              ("fig-designs-pareto", "fig-designs"), "Designs: quality vs energy vs area")
    if quant is not None:
        out.append(Section("fig-quant", "Quantization error", quant_error_figure(data.setdefault("quant", as_data(quant)))))
    if claims is not None:
        out.append(Section("fig-claims", "Claims", claims_figure(data.setdefault("claims", as_data(claims)))))
    if serving is not None:
        runs = as_data(serving)
        out += serving_sections(data.setdefault("serving", runs if isinstance(runs, list) else [runs]))
    return out, data


def report(path: str | Path | None = None, *, prediction=None, fit=None, sweep=None, quant=None, claims=None,
           hw=None, designs=None, serving=None, title: str = "simlow report") -> str:
    """Write (when ``path`` is given) and return one self-contained HTML report.

    ``prediction``: a ``Prediction`` / its dict / a .json path; ``fit``: one or more
    ``FitResult``s; ``sweep``: sweep rows (list or .jsonl); ``quant``: error rows per format;
    ``claims``: verdicts; ``designs``: design sweep rows; ``hw``: the device for the roofline when the prediction does not
    carry its peak rates (default: the prediction's ``hw``); ``serving``: one or more
    ``ServingResult``s (or their dicts, or a .json path).
    """
    secs, data = sections(prediction, fit, sweep, quant, claims, hw, designs, serving)
    if not secs:
        raise SimlowError("nothing to report: give a prediction, fit, sweep, quant, claims, designs or serving result")
    from simlow import __version__

    page = render_html(title, secs, data, footer=f"simlow {__version__}")
    if path is not None:
        try:
            Path(path).write_text(page)
        except OSError as err:
            raise SimlowError(f"{path}: cannot write ({err.strerror})") from None
    return page
