"""Answer an accuracy claim file (``simlow.lm.accuracy_claims``) on a real model.

``check_accuracy_claims(path, model_file=None, n_tokens=None, ids=None, only=None)``: loads
the model (SmolLM2-135M by default), tokenizes the file's text with the model's BPE, and
answers each claim (``only``: a subset of ids) with its measurement; designs are prepared
once and their windows run once per check. ``n_tokens`` overrides the file's (tests use
few). Returns ``{"setup": ..., "verdicts": [...]}``; a verdict holds the claim's words, the
reading, the measured value, the details (per-layer values, perplexities) and
``verdict``: ``consistent`` when the measured value is on the claimed side of the claimed
figure (``at_most``: measured <= claimed), else ``contradicted``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simlow.errors import SimlowError
from simlow.lm import measures
from simlow.lm.accuracy_claims import CLAIMS_FILE, AccuracyClaim, AccuracyClaimFile, Measure, Sense, load_accuracy_claims
from simlow.lm.calibrate import check_disjoint, prepare_design
from simlow.lm.design import load_design
from simlow.lm.evaluate import run_windows
from simlow.lm.forward import PreparedModel, prepare_model
from simlow.lm.gguf_load import LlamaFile, load_gguf, smollm2_path
from simlow.lm.tokenizer import Tokenizer


@dataclass
class _Session:
    """What one check shares between its claims (local to the call)."""

    model: LlamaFile
    ref_pm: PreparedModel
    ids: list[int]
    fit_ids: list[int]
    ctx: int
    text: Path
    runs: dict = field(default_factory=dict)

    def windows(self, name: str) -> dict:
        if name not in self.runs:
            design = load_design(name)
            check_disjoint(design, self.text, len(self.ids))
            pm = self.ref_pm if name == "float" else prepare_design(self.model, design, self.ref_pm)
            self.runs[name] = run_windows(self.ref_pm, pm, self.ids, self.ctx)
        return self.runs[name]


def _perplexity_ratio(s: _Session, c: AccuracyClaim) -> tuple[float, dict]:
    ppl = {n: s.windows(n)["perplexity"] for n in (c.design, c.baseline, *c.also)}
    ppl["float"] = s.windows(c.design)["reference_perplexity"]
    return ppl[c.design] / ppl[c.baseline], {"perplexity": ppl, "kl_mean": s.windows(c.design)["kl_mean"]}


def _offq(s: _Session, c: AccuracyClaim) -> tuple[float, dict]:
    per = measures.offq_std(s.ref_pm, s.fit_ids, s.ids)
    held = {k: float(np.mean([v["held_out"] for v in rows])) for k, rows in per.items()}
    ins = {k: float(np.mean([v["in_sample"] for v in rows])) for k, rows in per.items()}
    return float(np.mean(list(held.values()))), {
        "held_out_by_input": held, "in_sample_by_input": ins, "in_sample": float(np.mean(list(ins.values()))),
        "per_layer_held_out": {k: [v["held_out"] for v in rows] for k, rows in per.items()}}


def _kv(s: _Session, c: AccuracyClaim) -> tuple[float, dict]:
    ids = s.ids[:s.ctx]
    errs = measures.kv_attention_error(s.ref_pm, load_design(c.design), ids)
    details = {"per_layer": errs, "mean": float(np.mean(errs)), "max": max(errs), "tokens": len(ids)}
    if c.baseline == "float":
        return float(np.mean(errs)), details
    base = measures.kv_attention_error(s.ref_pm, load_design(c.baseline), ids)
    details.update(baseline_per_layer=base, baseline_mean=float(np.mean(base)))
    return float(np.mean(errs) / np.mean(base)), details


def _kurtosis(s: _Session, c: AccuracyClaim) -> tuple[float, dict]:
    emb, k = measures.residual_kurtosis(s.ref_pm, s.ids[:s.ctx])
    return k[-1] / k[0], {"embedding": emb, "per_layer": k, "max_over_first": max(k) / k[0],
                          "tokens": min(len(s.ids), s.ctx)}


MEASURES = {Measure.PERPLEXITY_RATIO: _perplexity_ratio, Measure.OFFQ_STD_REDUCTION: _offq,
            Measure.KV_ATTENTION_ERROR: _kv, Measure.KURTOSIS_GROWTH: _kurtosis}


def answer(s: _Session, c: AccuracyClaim) -> dict:
    value, details = MEASURES[c.measure](s, c)
    holds = value <= c.claimed if c.sense is Sense.AT_MOST else value >= c.claimed
    return {"id": c.id, "source": c.source, "seed": c.seed, "quote": c.quote, "reading": c.reading,
            "measure": c.measure.value, "design": c.design, "baseline": c.baseline,
            "claimed": c.claimed, "sense": c.sense.value, "measured": value,
            "verdict": "consistent" if holds else "contradicted", "details": details}


def _session(f: AccuracyClaimFile, model_file, n_tokens: int) -> _Session:
    from gguf import GGUFReader

    path = Path(model_file) if model_file is not None else smollm2_path()
    if not path.is_file():
        raise SimlowError(f"{path}: model file not found")
    reader = GGUFReader(str(path))
    model = load_gguf(path, reader)
    ids = Tokenizer.from_gguf(path, reader).encode(f.text.read_text("utf-8"))
    if len(ids) < f.fit_start + f.fit_tokens:
        raise SimlowError(f"{f.text}: {len(ids)} tokens, fewer than the fit span's end {f.fit_start + f.fit_tokens}")
    return _Session(model, prepare_model(model, load_design("float")), ids[:n_tokens],
                    ids[f.fit_start:f.fit_start + f.fit_tokens], min(f.ctx, n_tokens), f.text)


def check_accuracy_claims(path: Path | str = CLAIMS_FILE, model_file=None, n_tokens: int | None = None,
                          only: tuple[str, ...] | None = None) -> dict:
    f = load_accuracy_claims(path)
    claims = [c for c in f.claims if only is None or c.id in only]
    if only is not None and len(claims) != len(set(only)):
        known = ", ".join(c.id for c in f.claims)
        raise SimlowError(f"{path}: unknown claim id in {', '.join(only)} (valid: {known})")
    n = f.n_tokens if n_tokens is None else n_tokens
    if not 2 <= n <= f.fit_start:
        raise SimlowError(f"n_tokens must be 2..{f.fit_start} (the fit span starts there), got {n}")
    s = _session(f, model_file, n)
    setup = {"model_file": s.model.path.name, "text": f.text.name, "n_tokens": n, "ctx": s.ctx,
             "offq_fit_tokens": [f.fit_start, f.fit_start + f.fit_tokens],
             "note": "the seeds' models are too large to run here; every claim is read relatively on this model"}
    return {"setup": setup, "verdicts": [answer(s, c) for c in claims]}
