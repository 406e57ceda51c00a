"""Serving runs under load (``workloads/measured/serving_*.csv``) against the simulation.

Each row is one published benchmark run: device, model, dtype, engine, arrival process
(``closed`` with ``concurrency`` clients, or ``poisson`` at ``request_rate``), request count
and fixed prompt / output lengths, and the figures it reports (blank: not reported). The
row is simulated as given, with the engine's defaults and the stack's efficiencies as they
are: nothing is fitted to these rows. Stand-ins are stated in ``DEVICES`` / ``MODELS``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from simlow.errors import SimlowError
from simlow.specs.registry import data_root

DEVICES = {"NVIDIA GeForce RTX 4090 24GB": "rtx-4090"}
# Mistral-7B-Instruct-v0.3 differs from v0.1 (simlow's mistral-7b) by a 32,768-token vocabulary
# (+0.3% of the weights) and no sliding window (irrelevant below 4,096 tokens of context).
MODELS = {"mistralai/Mistral-7B-Instruct-v0.3": "mistral-7b"}
DTYPES = {"bf16 (checkpoint default)": "bf16"}
ENGINES = {"vLLM OpenAI server (version not stated)": ("vllm", "vllm")}
# measured column -> (result figure, scale to seconds / units)
FIGURES = {"throughput_requests_per_s": ("throughput_requests_per_s", None, 1.0),
           "throughput_output_tok_s": ("throughput_output_tok_s", None, 1.0),
           "ttft_mean_ms": ("ttft_s", "mean", 1e-3), "ttft_p50_ms": ("ttft_s", "p50", 1e-3),
           "ttft_p99_ms": ("ttft_s", "p99", 1e-3), "tpot_mean_ms": ("tpot_s", "mean", 1e-3),
           "e2e_mean_ms": ("e2e_s", "mean", 1e-3)}


@dataclass(frozen=True)
class Comparison:
    file: str
    line: int
    case: str
    figure: str
    measured: float
    simulated: float

    @property
    def error(self) -> float:
        """Signed relative error of the simulation (simulated / measured - 1)."""
        return self.simulated / self.measured - 1.0


def _lookup(table, key, path, line, what):
    if key not in table:
        raise SimlowError(f"{path}: line {line}: {what} {key!r} is not mapped (known: {', '.join(table)})")
    return table[key]


def _simulate(row: dict, path, line):
    from simlow.serving import simulate_serving

    engine, stack = _lookup(ENGINES, row["engine"], path, line, "engine")
    kw = dict(engine=engine, stack=stack, requests=int(row["requests"]), prompt_len=int(row["prompt_len"]),
              output_len=int(row["output_len"]), seed=0)
    if row["arrivals"] == "closed":
        kw["concurrency"] = int(row["concurrency"])
    else:
        kw.update(arrivals=row["arrivals"], rate=float(row["request_rate"]))
    return simulate_serving(_lookup(MODELS, row["model"], path, line, "model"),
                            _lookup(DEVICES, row["device"], path, line, "device"),
                            _lookup(DTYPES, row["dtype"], path, line, "dtype"), **kw)


def compare(data: str | Path | None = None) -> list[Comparison]:
    """Every reported figure of every ``serving_*.csv`` row in ``data`` (default:
    ``workloads/measured``) beside the simulated one."""
    folder = Path(data) if data is not None else data_root() / "workloads" / "measured"
    out = []
    for path in sorted(folder.glob("serving_*.csv")):
        with path.open(newline="") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                r = _simulate(row, path, line).to_dict()
                case = (f"{row['device']} {row['model']} {row['arrivals']} c{row['concurrency']} "
                        f"r{row['request_rate']} p{row['prompt_len']} o{row['output_len']}")
                for col, (key, sub, scale) in FIGURES.items():
                    if row.get(col, "").strip():
                        sim = r[key] if sub is None else r[key][sub]
                        out.append(Comparison(path.stem, line, case, col, float(row[col]) * scale, sim))
    return out
