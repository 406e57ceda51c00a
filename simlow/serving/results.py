"""What a serving run reports: latency summaries, throughput, goodput, energy, series.

Definitions follow vLLM's ``benchmarks/benchmark_serving.py``: TTFT = first token time -
arrival; TPOT = (E2E - TTFT) / (output tokens - 1) over requests of more than one output
token; ITL = every gap between consecutive tokens of a request; E2E = last token - arrival;
throughput over the run's duration (first arrival to last token); goodput = requests
meeting every given SLO (TTFT <= ``slo_ttft``, TPOT <= ``slo_tpot``) per second.

Energy is the board energy of the forward steps, priced as ``simlow.predict`` prices a
phase (``simlow.sim.energy`` / ``simlow.sim.power``: static power over the step's time, plus
the DRAM and on-chip energy of the bytes it moved and the compute energy of the ops it ran,
at the matmul format, throttled under the TDP cap); time the server sits idle between steps
is not counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from simlow.sim import energy, roofline

SERIES_POINTS = 400      # the per-step series are thinned to about this many samples
CDF_POINTS = 101         # quantiles 0, 1, ..., 100 % of each latency


@dataclass(frozen=True)
class Summary:
    mean: float
    p50: float
    p90: float
    p99: float
    max: float
    n: int

    @classmethod
    def of(cls, x: np.ndarray) -> "Summary | None":
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0:
            return None
        p50, p90, p99 = np.percentile(x, (50, 90, 99))
        return cls(float(x.mean()), float(p50), float(p90), float(p99), float(x.max()), int(x.size))


@dataclass(frozen=True)
class ServingResult:
    model: str
    hw: str
    scheme: str
    stack: str
    engine: str                  # the serving engine: vllm | static | llama.cpp-server
    device_engine: str
    arrivals: str
    requests: int
    duration_s: float
    throughput_requests_per_s: float
    throughput_input_tok_s: float
    throughput_output_tok_s: float
    ttft_s: Summary
    tpot_s: Summary | None
    itl_s: Summary | None
    e2e_s: Summary
    step_s: Summary              # forward-step durations
    goodput_requests_per_s: float | None
    slo: dict
    preemptions: int
    prefix_hit_tokens: int
    computed_tokens: int
    output_tokens: int
    steps: int
    kv: dict
    energy_j: float
    energy_j_per_request: float
    energy_j_per_output_token: float
    config: dict
    series: dict = field(repr=False, default_factory=dict)
    cdf: dict = field(repr=False, default_factory=dict)
    notes: tuple[str, ...] = ()
    per_request: dict = field(repr=False, compare=False, default_factory=dict)   # NumPy arrays

    def to_dict(self, per_request: bool = False) -> dict:
        """Plain data (JSON-ready); ``per_request`` adds every request's arrival, TTFT and E2E."""
        d = {k: v for k, v in asdict(self).items() if k != "per_request"}
        d["notes"] = list(self.notes)
        if per_request:
            d["per_request"] = {k: np.asarray(v).tolist() for k, v in self.per_request.items()}
        return d


def _thin(a: np.ndarray) -> np.ndarray:
    if len(a) > SERIES_POINTS:
        a = a[np.linspace(0, len(a) - 1, SERIES_POINTS).round().astype(int)]
    return a


def _energy(s: np.ndarray, hw, device_engine, fmt: str | None) -> float:
    """Board joules of the steps of ``step_table`` ``s``: each step's time, the ops it
    computed and the bytes it moved, priced by ``simlow.sim.energy`` with the matmuls in
    ``fmt`` (as ``simlow.predict`` prices a phase)."""
    if not len(s):
        return 0.0
    z = np.zeros(len(s))
    times = roofline.StepTimes(s[:, 1], (), z, z, z, s[:, 4], s[:, 3], s[:, 2], z)
    return energy.energy(hw, device_engine, times, None, fmt)["prefill_j"]


def build_result(run, req, engine: str, arrivals: str, kv: dict, config: dict, slo_ttft, slo_tpot,
                 notes: tuple[str, ...], fmt: str | None = None) -> ServingResult:
    """The result of a finished ``run``; ``fmt`` is the format its matmuls run in
    (``simlow.sim.energy.matmul_format``; None: priced at the engine's fastest rate)."""
    ttft = run.first - run.arrival
    e2e = run.finish - run.arrival
    multi = run.out > 1
    tpot = (e2e[multi] - ttft[multi]) / (run.out[multi] - 1)
    duration = float(np.max(run.finish) - np.min(run.arrival))
    good = None
    if slo_ttft is not None or slo_tpot is not None:
        ok = np.ones(run.n, dtype=bool)
        if slo_ttft is not None:
            ok &= ttft <= slo_ttft
        if slo_tpot is not None:
            tp = np.zeros(run.n)
            tp[multi] = tpot
            ok &= tp <= slo_tpot
        good = float(ok.sum()) / duration
    table = run.step_table()
    j = _energy(table, req.hw, req.engine, fmt)
    out_tok = int(run.out.sum())
    itl = np.concatenate(run.itl) if run.itl else np.zeros(0)
    steps = _thin(table[:, [0, 5, 6]])
    ser = _thin(run.series_table())
    q = np.linspace(0, 100, CDF_POINTS)
    return ServingResult(
        model=req.model.name, hw=req.hw.name, scheme=req.scheme.name, stack=req.stack.name, engine=engine,
        device_engine=req.engine.name, arrivals=arrivals, requests=run.n, duration_s=duration,
        throughput_requests_per_s=run.n / duration, throughput_input_tok_s=float(run.prompt.sum()) / duration,
        throughput_output_tok_s=out_tok / duration,
        ttft_s=Summary.of(ttft), tpot_s=Summary.of(tpot), itl_s=Summary.of(itl), e2e_s=Summary.of(e2e),
        step_s=Summary.of(table[:, 1]),
        goodput_requests_per_s=good, slo={"ttft_s": slo_ttft, "tpot_s": slo_tpot},
        preemptions=run.preemptions, prefix_hit_tokens=run.prefix_hit_tokens,
        computed_tokens=run.computed_tokens, output_tokens=out_tok, steps=len(table), kv=kv,
        energy_j=j, energy_j_per_request=j / run.n, energy_j_per_output_token=j / out_tok, config=config,
        series={"time_s": ser[:, 0].tolist(), "running": ser[:, 1].tolist(), "kv_occupancy": ser[:, 2].tolist(),
                "step_time_s": steps[:, 0].tolist(), "step_requests": steps[:, 1].tolist(),
                "step_tokens": steps[:, 2].tolist()},
        cdf={"quantile_pct": q.tolist(), "ttft_s": np.percentile(ttft, q).tolist(),
             "e2e_s": np.percentile(e2e, q).tolist(),
             "tpot_s": np.percentile(tpot, q).tolist() if tpot.size else []},
        notes=notes,
        per_request={"arrival_s": run.arrival.copy(), "ttft_s": ttft, "e2e_s": e2e, "prompt": run.prompt,
                     "output": run.out, "finish_s": run.finish.copy()})
