"""Small hand-made result dicts shaped like the serialized results reports consume."""

from __future__ import annotations

import pytest

GB = 1e9


def _prediction() -> dict:
    """A two-phase prediction (shaped like ``Prediction.to_dict()``) on an imaginary device:
    1 TB/s, 100 Tops/s fp16, 200 Tops/s int8, carried in the dict so no spec is loaded."""
    ops, t = [], 0.0
    for phase, n, flops, nbytes in (("prefill", 3, 2e12, 1e9), ("decode", 4, 2e9, 1e9)):
        t = 0.0
        for i in range(n):
            dt = max(flops / 100e12, nbytes / 1e12)
            bound = "compute" if flops / 100e12 > nbytes / 1e12 else "memory"
            ops.append({"phase": phase, "op": f"layers{i}.ffn", "start_s": t, "duration_s": dt, "bound": bound,
                        "flops": flops, "bytes": nbytes, "format": "fp16"})
            t += dt
    ops.append({"phase": "decode", "op": "launch", "start_s": t, "duration_s": 5e-6, "bound": "overhead",
                "flops": 0.0, "bytes": 0.0, "format": "fp32"})
    return {"model": "toy-1b", "hw": "toy-gpu", "scheme": "q4_0", "prefill_tok_s": 1234.5, "decode_tok_s": 250.0,
            "ttft_s": 0.41, "energy_j_per_token": 0.9, "fits": True, "bound": {"prefill": "compute", "decode": "memory"},
            "bandwidth_Bps": 1e12, "peak_ops": {"fp16": 100e12, "int8": 200e12},
            "memory": {"weights_bytes": {"attention": 0.3 * GB, "ffn": 0.6 * GB}, "kv_cache_bytes": 0.5 * GB,
                       "activation_bytes": 0.1 * GB, "capacity_bytes": 16 * GB, "usable_bytes": 15 * GB,
                       "ctx": 4096, "batch": 1},
            "timeline": ops}


def _sweep_rows() -> list[dict]:
    rows = []
    for i, (tok, energy, area) in enumerate([(10, 1.0, 5), (20, 2.0, 5), (15, 3.0, 9), (20, 2.0, 5), (5, 0.5, 20)]):
        rows.append({"index": i, "design": f"d{i}", "decode_tok_s": float(tok), "energy_j_per_token": energy,
                     "area_mm2": float(area)})
    rows.append({"index": 5, "design": "broken", "error": "does not fit", "decode_tok_s": None})
    return rows


def _quant_rows() -> list[dict]:
    return [{"format": "q4_0", "bits_per_weight": 4.5, "rmse": 0.02, "sqnr_db": 20.1},
            {"format": "q8_0", "bits_per_weight": 8.5, "rmse": 0.001, "sqnr_db": 45.3},
            {"format": "tq1_0", "bits_per_weight": 1.69, "rmse": 0.2, "sqnr_db": 6.2}]


def _verdicts() -> list[dict]:
    return [{"id": "m4-decode", "metric": "decode_tok_s", "claimed": 100.0, "bound": 61.2, "simulated": 48.0,
             "verdict": "impossible", "sentence": "needs 1.41 TB/s of weight traffic; the card has 1.01 TB/s"},
            {"id": "fits-24gb", "metric": "fits", "claimed": True, "verdict": "plausible", "sentence": "18.1 GB of 24"},
            {"id": "odd", "reason": "no model of this stack"}]


@pytest.fixture
def fake_prediction() -> dict:
    return _prediction()


@pytest.fixture
def fake_sweep() -> list[dict]:
    return _sweep_rows()


@pytest.fixture
def fake_quant() -> list[dict]:
    return _quant_rows()


@pytest.fixture
def fake_verdicts() -> list[dict]:
    return _verdicts()
