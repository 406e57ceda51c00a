"""Reports: figures as pure functions of serialized results, and one offline HTML page.

Layering: reports see only results. Each figure function takes plain data (what a result's
``to_dict()`` gives, or the same read back from JSON) and returns a plotly figure; none of
them runs a model. ``report(...)`` (``simlow.report.build``) gathers the figures into one
self-contained HTML file with plotly.js embedded, so it opens without a network.

``simlow.report(...)`` calls ``report``: this module is callable, so the name works the
same whether ``simlow.report`` resolved to the function or to this package.

Modules: ``data`` (inputs to plain data), ``style`` (colours), ``roofline``, ``timeline``,
``memory``, ``pareto``, ``quanterr``, ``claims``, ``table`` (one figure each), ``serving``
(latency CDFs, throughput against offered rate, KV occupancy over time), ``html``
(the page), ``build`` (the entry point), ``png`` (static export through headless Chromium).
"""

from __future__ import annotations

import sys
import types

from simlow.report.build import report, sections
from simlow.report.claims import claims_figure
from simlow.report.html import Section, render_html
from simlow.report.memory import memory_figure
from simlow.report.pareto import pareto_figure, pareto_mask
from simlow.report.quanterr import quant_error_figure
from simlow.report.roofline import roofline_figure
from simlow.report.table import table_figure
from simlow.report.timeline import timeline_figure

__all__ = ["Section", "claims_figure", "memory_figure", "pareto_figure", "pareto_mask", "quant_error_figure",
           "render_html", "report", "roofline_figure", "sections", "table_figure", "timeline_figure"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
