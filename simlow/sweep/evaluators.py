"""What a sweep point computes: one explicit registry of evaluators, each a pure function
from a point's settings to a flat row of numbers.

An evaluator declares the settings it takes (name -> Python type) and which are required,
so a sweep file is checked before anything runs. Its function returns a flat mapping of
scalars (CSV-ready); a point whose settings the model rejects (``SimlowError``: a context
beyond the model's maximum, a scheme the stack cannot run) becomes a row with ``error``
set and the result columns empty, not a crashed sweep. Any other exception is a bug and
propagates.

``evaluate_chunk`` is the unit of work a backend ships to a worker: it names the evaluator
by its registry key (so only plain data crosses process or machine boundaries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from simlow.errors import SimlowError, unknown_name

SPEC_NAMES = {"model": "model", "hw": "hardware", "scheme": "scheme", "kv_scheme": "scheme"}


@dataclass(frozen=True)
class Evaluator:
    name: str
    params: Mapping[str, type]          # every setting it accepts, with its type
    required: tuple[str, ...]
    outputs: tuple[str, ...]            # result columns, in CSV order
    fn: Callable[[dict], dict]
    summary: str


def _fit(p: dict) -> dict:
    from simlow.memory import fit

    r = fit(p["model"], p["hw"], p.get("scheme", "q4_0"), ctx=p.get("ctx"), batch=p.get("batch", 1),
            kv_scheme=p.get("kv_scheme"), memory=p.get("memory"))
    m = r.footprint
    return {"fits": r.fits, "max_context": r.max_context, "max_batch": r.max_batch,
            "weight_bytes": m.weight_total_bytes, "kv_cache_bytes": m.kv_cache_bytes,
            "activation_bytes": m.activation_bytes, "total_bytes": m.total_bytes,
            "usable_bytes": m.usable_bytes, "shortfall_bytes": m.shortfall_bytes}


def _predict(p: dict) -> dict:
    from simlow.sim import predict

    r = predict(**p)
    return {"prefill_tok_s": r.prefill_tok_s, "decode_tok_s": r.decode_tok_s, "ttft_s": r.ttft_s,
            "energy_j_per_token": r.energy_j_per_token, "fits": r.fits,
            "weight_bytes": r.memory["weight_total_bytes"], "total_bytes": r.memory["total_bytes"],
            "shortfall_bytes": r.shortfall_bytes,
            "bound_prefill": r.bound.get("prefill"), "bound_decode": r.bound.get("decode"),
            "stack": r.stack, "engine": r.engine}


def _npu(p: dict) -> dict:
    from simlow.npu.dram import parse_dram
    from simlow.npu.design import NpuDesign, evaluate as npu_cost

    try:
        design = NpuDesign(p["unit"], p["array_side"], p.get("arrays", 1), 1024 * p.get("sram_kib", 2048),
                           parse_dram(p["dram"]), p["node_nm"], float(p.get("capacity_gb", 8)),
                           clock_derate=p.get("clock_derate_pct", 100) / 100)
    except (TypeError, ValueError) as err:      # SimlowError is a ValueError: keep its message
        raise SimlowError(str(err)) from None
    c = npu_cost(design)
    return {"area_mm2": c.total_area_mm2, "clock_GHz": c.clock_Hz / 1e9,
            "peak_TOPS": max(c.peak_ops.values()) / 1e12, "tdp_W": c.tdp_W, "static_W": c.static_W,
            "design": design.label}


EVALUATORS: dict[str, Evaluator] = {e.name: e for e in (
    Evaluator("fit", {"model": str, "hw": str, "scheme": str, "kv_scheme": str, "ctx": int, "batch": int,
                      "memory": str},
              ("model", "hw"), ("fits", "max_context", "max_batch", "weight_bytes", "kv_cache_bytes",
                                "activation_bytes", "total_bytes", "usable_bytes", "shortfall_bytes"),
              _fit, "memory fit (simlow.fit)"),
    Evaluator("predict", {"model": str, "hw": str, "scheme": str, "kv_scheme": str, "stack": str, "engine": str,
                          "fidelity": str, "batch": int, "prompt": int, "gen": int, "ctx": int, "depth": int},
              ("model", "hw"), ("prefill_tok_s", "decode_tok_s", "ttft_s", "energy_j_per_token", "fits",
                                "weight_bytes", "total_bytes", "shortfall_bytes", "bound_prefill", "bound_decode", "stack",
                                "engine"),
              _predict, "performance prediction (simlow.predict)"),
    Evaluator("npu", {"unit": str, "array_side": int, "arrays": int, "sram_kib": int, "dram": str, "node_nm": int,
                      "capacity_gb": int, "clock_derate_pct": int},
              ("unit", "array_side", "dram", "node_nm"),
              ("area_mm2", "clock_GHz", "peak_TOPS", "tdp_W", "static_W", "design"),
              _npu, "NPU design cost: area, clock, peak, power (simlow.npu.design)"),
)}


def evaluator(name: str) -> Evaluator:
    if name not in EVALUATORS:
        raise unknown_name("evaluator", name, list(EVALUATORS))
    return EVALUATORS[name]


def evaluate(ev: Evaluator, index: int, params: dict) -> dict:
    """The row of one point: its index, its settings, then the results (or ``error``)."""
    try:
        out, err = ev.fn(dict(params)), None
    except SimlowError as e:
        out, err = {}, str(e)
    return {"index": index, **params, **{k: out.get(k) for k in ev.outputs}, "error": err}


def evaluate_chunk(name: str, chunk: list[tuple[int, dict]]) -> list[dict]:
    """Rows of a chunk of ``(index, settings)`` points, in the chunk's order."""
    ev = evaluator(name)
    return [evaluate(ev, i, p) for i, p in chunk]
