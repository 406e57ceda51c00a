"""Serving runs under load (``workloads/measured/serving_*.csv``) against the simulation.

Each row is one published benchmark run: device, model, dtype, engine, arrival process
(``closed`` with ``concurrency`` clients, or ``poisson`` at ``request_rate``; a rate of
``inf`` sends every request at once, as ``vllm bench serve`` does), request count and fixed
prompt / output lengths, and the figures it reports (blank: not reported). The row is
simulated as given, with the engine's defaults and the stack's efficiencies as they are
(fitted to none of these rows). The stack's serving host time (``simlow.sim.host``) is fitted
on some of them (``simlow.serving.fit``): a row is ``in-sample`` when its device, model or
scheme (as its ``fitted_on`` says) is in the fit's ``train`` groups, ``held-out`` otherwise. Stand-ins are stated in
``DEVICES`` / ``MODELS``. A row that reports no mean E2E gets one derived from its TTFT and
TPOT means where that is exact (``derived_e2e_s``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from simlow.errors import SimlowError
from simlow.serving.kv import KvCacheTooSmall
from simlow.specs.registry import data_root

DEVICES = {"NVIDIA GeForce RTX 4090 24GB": "rtx-4090", "NVIDIA H100 SXM": "h100-sxm",
           "NVIDIA A100 SXM 80GB": "a100-80gb-sxm",
           # GPUStack's Qwen3-14B A100 page says "A100 SXM" without the memory; its Qwen3-32B page
           # (same lab, same date) says 80GB, and a 40GB board could not hold 100 32K-token prompts
           # beside 29.5 GB of weights at any useful batch: taken as the 80GB part (assumed)
           "NVIDIA A100 SXM (memory not stated)": "a100-80gb-sxm"}
# Mistral-7B-Instruct-v0.3 differs from v0.1 (simlow's mistral-7b) by a 32,768-token vocabulary
# (+0.3% of the weights) and no sliding window (irrelevant below 4,096 tokens of context).
MODELS = {"mistralai/Mistral-7B-Instruct-v0.3": "mistral-7b", "Qwen/Qwen3-14B": "qwen3-14b",
          "Qwen/Qwen3-32B": "qwen3-32b", "openai/gpt-oss-20b": "gpt-oss-20b", "openai/gpt-oss-120b": "gpt-oss-120b"}
DTYPES = {"bf16 (checkpoint default)": "bf16",
          "MXFP4 experts, bf16 rest (checkpoint default)": "mxfp4"}
ENGINES = {"vLLM OpenAI server (version not stated)": ("vllm", "vllm"),
           "vLLM OpenAI server": ("vllm", "vllm")}      # the version is the row's engine_version
# measured column -> (result figure, scale to seconds / units)
FIGURES = {"throughput_requests_per_s": ("throughput_requests_per_s", None, 1.0),
           "throughput_output_tok_s": ("throughput_output_tok_s", None, 1.0),
           "ttft_mean_ms": ("ttft_s", "mean", 1e-3), "ttft_p50_ms": ("ttft_s", "p50", 1e-3),
           "ttft_p99_ms": ("ttft_s", "p99", 1e-3), "tpot_mean_ms": ("tpot_s", "mean", 1e-3),
           "tpot_p50_ms": ("tpot_s", "p50", 1e-3), "duration_s": ("duration_s", None, 1.0),
           "e2e_mean_ms": ("e2e_s", "mean", 1e-3)}
DERIVED_E2E = "e2e_mean_ms (derived)"


def derived_e2e_s(row: dict) -> float | None:
    """Mean E2E of a row that reports none, from its own figures, where that is exact.

    vLLM's TPOT of a request is (E2E - TTFT) / (output tokens - 1), so E2E = TTFT + TPOT x
    (output - 1) per request; when every request generated exactly ``output_len`` tokens
    (``generated_tokens`` = requests x output_len) the means obey the same sum. None otherwise."""
    need = ("e2e_mean_ms", "ttft_mean_ms", "tpot_mean_ms", "generated_tokens")
    if row.get(need[0], "").strip() or not all(row.get(k, "").strip() for k in need[1:]):
        return None
    o = int(row["output_len"])
    if int(row["generated_tokens"]) != int(row["requests"]) * o:
        return None
    return (float(row["ttft_mean_ms"]) + (o - 1) * float(row["tpot_mean_ms"])) * 1e-3


@dataclass(frozen=True)
class Comparison:
    file: str
    line: int
    device: str          # the hardware spec simulated
    case: str
    figure: str
    measured: float
    simulated: float
    split: str = "held-out"    # or "in-sample": the row's group trained the stack's serving host time

    @property
    def error(self) -> float:
        """Signed relative error of the simulation (simulated / measured - 1)."""
        return self.simulated / self.measured - 1.0


def _lookup(table, key, path, line, what):
    if key not in table:
        raise SimlowError(f"{path}: line {line}: {what} {key!r} is not mapped (known: {', '.join(table)})")
    return table[key]


def _split(stack_name: str, hw: str, model: str, scheme: str) -> str:
    from simlow.sim.stacks import GroupBy
    from simlow.sim.stack_load import load_stack

    host = load_stack(stack_name).serving
    fit = None if host is None else host.fitted_on
    if fit is None:
        return "held-out"
    return fit.split_of({GroupBy.HW: hw, GroupBy.MODEL: model, GroupBy.SCHEME: scheme}[fit.by])


def _simulate(row: dict, path, line, host=None):
    from simlow.serving import simulate_serving

    engine, stack = _lookup(ENGINES, row["engine"], path, line, "engine")
    kw = dict(engine=engine, stack=stack, requests=int(row["requests"]), prompt_len=int(row["prompt_len"]),
              output_len=int(row["output_len"]), seed=0, host=host)
    if row["arrivals"] == "closed":
        kw["concurrency"] = int(row["concurrency"])
    elif float(row["request_rate"]) == float("inf"):     # every request sent at once
        kw["concurrency"] = int(row["requests"])
    else:
        kw.update(arrivals=row["arrivals"], rate=float(row["request_rate"]))
    return simulate_serving(_lookup(MODELS, row["model"], path, line, "model"),
                            _lookup(DEVICES, row["device"], path, line, "device"),
                            _lookup(DTYPES, row["dtype"], path, line, "dtype"), **kw)


@dataclass(frozen=True)
class Skipped:
    """A measured row the simulation cannot run, and why (a finding, not a filter)."""
    file: str
    line: int
    case: str
    reason: str


@dataclass(frozen=True)
class Report:
    comparisons: tuple[Comparison, ...]
    skipped: tuple[Skipped, ...]


def compare(data: str | Path | None = None, host=None) -> Report:
    """Every reported figure of every ``serving_*.csv`` row in ``data`` (default:
    ``workloads/measured``) beside the simulated one; rows whose request the simulated KV
    cache cannot hold (``KvCacheTooSmall``: simlow's budget is smaller than the engine's
    was, since the engine ran them) are listed in ``skipped`` with the reason. ``host``:
    a serving host time to simulate with instead of the stacks' (``simlow.serving.fit``)."""
    folder = Path(data) if data is not None else data_root() / "workloads" / "measured"
    out, skipped = [], []
    for path in sorted(folder.glob("serving_*.csv")):
        with path.open(newline="") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                case = (f"{row['device']} {row['model']} {row['arrivals']} c{row['concurrency']} "
                        f"r{row['request_rate']} p{row['prompt_len']} o{row['output_len']}")
                try:
                    r = _simulate(row, path, line, host).to_dict()
                except KvCacheTooSmall as e:
                    skipped.append(Skipped(path.stem, line, case, str(e)))
                    continue
                split = _split(r["stack"], r["hw"], r["model"], r["scheme"])
                for col, (key, sub, scale) in FIGURES.items():
                    if row.get(col, "").strip():
                        sim = r[key] if sub is None else r[key][sub]
                        out.append(Comparison(path.stem, line, r["hw"], case, col, float(row[col]) * scale, sim,
                                              split))
                e2e = derived_e2e_s(row)
                if e2e is not None:
                    out.append(Comparison(path.stem, line, r["hw"], case, DERIVED_E2E, e2e, r["e2e_s"]["mean"],
                                          split))
    return Report(tuple(out), tuple(skipped))
