"""A design sweep: several designs on one token stream, quality beside speed, energy and area.

``design_sweep(designs, hardware, ...)`` evaluates each design once on the same windows
(``simlow.lm.evaluate``: the float reference is prepared once) and prices it on each
hardware name (``speed_of``), one flat row per (design, hardware)::

    {"design": "q4_0", "hw": "rtx-4090", "perplexity": ..., "reference_perplexity": ...,
     "kl_mean": ..., "top1_agreement": ..., "decode_tok_s": ..., "prefill_tok_s": ...,
     "energy_j_per_token": ..., "area_mm2": ... (NPU designs only)}

A price the model cannot give stays the text "not available: ..." (such a row takes no part
in the Pareto front of ``simlow.report``, which draws it grey). ``None`` in ``hardware``
means each design's own hardware.
"""

from __future__ import annotations

import dataclasses

from simlow.lm.calibrate import check_disjoint, prepare_design
from simlow.lm.design import load_design
from simlow.lm.evaluate import load_inputs, run_windows, speed_of
from simlow.lm.forward import prepare_model

QUALITY = ("perplexity", "reference_perplexity", "kl_mean", "top1_agreement")
PRICE = ("decode_tok_s", "prefill_tok_s", "energy_j_per_token", "area_mm2")


def design_sweep(designs, hardware=(None,), model_file=None, tokens=None, text=None, n_tokens: int = 256,
                 ctx: int = 256, stride: int | None = None) -> list[dict]:
    """One row per (design, hardware) (module docstring)."""
    loaded = [load_design(d) for d in designs]
    model, ids = load_inputs(model_file, tokens, text, n_tokens)
    for d in loaded:
        check_disjoint(d, text, n_tokens)
    ref_pm = prepare_model(model, load_design("float"))
    rows = []
    for design in loaded:
        pm = ref_pm if design.name == "float" else prepare_design(model, design, ref_pm)
        quality = run_windows(ref_pm, pm, ids, ctx, None, stride)
        for hw in hardware:
            priced = design if hw is None else dataclasses.replace(design, hardware=hw)
            price = speed_of(model.path, priced)
            rows.append({"design": design.name, "hw": priced.hardware, "n_tokens": len(ids), "ctx": ctx,
                         **{k: quality[k] for k in QUALITY}, **{k: price[k] for k in PRICE if k in price}})
    return rows
