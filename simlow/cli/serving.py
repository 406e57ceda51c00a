"""``simlow serving``: a request-level simulation of an inference server under load."""

from __future__ import annotations

from simlow.cli.output import add_json_flag, emit, print_json, print_table

# the figures the serving validation summarizes (issue 16's targets: mean E2E, median TTFT)
SUMMARY_FIGURES = ("e2e_mean_ms", "e2e_mean_ms (derived)", "ttft_p50_ms", "ttft_mean_ms", "tpot_mean_ms",
                   "throughput_output_tok_s", "throughput_requests_per_s", "duration_s")


def register(sub) -> None:
    p = sub.add_parser("serving", help="simulate a server under load: TTFT, TPOT, E2E, throughput, goodput, energy")
    p.add_argument("--model", required=True, help="model name or path")
    p.add_argument("--hw", required=True, help="hardware name or path")
    p.add_argument("--scheme", default=None, help="weight scheme (default: f16 for vllm/static, else as predict)")
    p.add_argument("--kv-scheme", default=None, help="KV-cache scheme (e.g. kv-fp8)")
    p.add_argument("--stack", default=None, help="software stack (default: vllm, tensorrt-llm or the device's llama.cpp)")
    p.add_argument("--engine", default="vllm", help="serving engine: vllm | static | llama.cpp-server")
    p.add_argument("--device-engine", default=None, help="engine of the device to run on")
    p.add_argument("--arrivals", default=None, help="poisson | constant | gamma | closed (default poisson)")
    p.add_argument("--rate", type=float, default=None, help="requests per second (open-loop arrivals)")
    p.add_argument("--cv", type=float, default=1.0, help="gamma arrivals: coefficient of variation of the gaps")
    p.add_argument("--concurrency", type=int, default=None, help="closed loop: clients (implies --arrivals closed)")
    p.add_argument("--trace", default=None, metavar="FILE", help="JSONL trace: arrival_s, prompt_len, output_len[, prefix_id, prefix_len]")
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--prompt-len", type=int, default=512)
    p.add_argument("--output-len", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-num-seqs", type=int, default=None, help="running requests (slots for llama.cpp-server)")
    p.add_argument("--max-batched-tokens", type=int, default=None, help="tokens per step (n_batch for llama.cpp-server)")
    p.add_argument("--long-prefill-token-threshold", type=int, default=0)
    p.add_argument("--kv-blocks", type=int, default=None, help="override the KV block count")
    p.add_argument("--block-size", type=int, default=16)
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    p.add_argument("--no-prefix-caching", action="store_true")
    p.add_argument("--slo-ttft", type=float, default=None, help="goodput SLO on TTFT, seconds")
    p.add_argument("--slo-tpot", type=float, default=None, help="goodput SLO on TPOT, seconds")
    p.add_argument("--rates", default=None, metavar="R1,R2,...",
                   help="run once per offered rate (requests/s; open-loop arrivals) instead of --rate")
    p.add_argument("--report", default=None, metavar="FILE",
                   help="also write an HTML report: latency CDFs, KV occupancy, throughput against rate")
    add_json_flag(p)
    p.set_defaults(func=run)


def _rates(text: str) -> list[float]:
    from simlow.errors import SimlowError

    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SimlowError(f"--rates: expected comma-separated numbers (requests/s), got {text!r}") from None
    if not rates or any(not r > 0 for r in rates):
        raise SimlowError(f"--rates: every rate must be a number > 0, got {text!r}")
    return rates


def _simulate(args, rate):
    from simlow.serving import simulate_serving

    return simulate_serving(
        args.model, args.hw, args.scheme, stack=args.stack, engine=args.engine, arrivals=args.arrivals,
        rate=rate, requests=args.requests, prompt_len=args.prompt_len, output_len=args.output_len,
        trace=args.trace, concurrency=args.concurrency, cv=args.cv, seed=args.seed,
        max_num_seqs=args.max_num_seqs, max_batched_tokens=args.max_batched_tokens,
        long_prefill_token_threshold=args.long_prefill_token_threshold, kv_blocks=args.kv_blocks,
        block_size=args.block_size, gpu_memory_utilization=args.gpu_memory_utilization,
        prefix_caching=not args.no_prefix_caching, kv_scheme=args.kv_scheme, slo_ttft=args.slo_ttft,
        slo_tpot=args.slo_tpot, device_engine=args.device_engine)


def _sweep(args) -> int:
    """``--rates``: one run per offered rate, a table (or a JSON list) of the curve."""
    from simlow.errors import SimlowError

    if args.concurrency is not None or args.trace is not None or args.arrivals == "closed":
        raise SimlowError("--rates sweeps open-loop arrivals: drop --concurrency / --trace / --arrivals closed")
    runs = [_simulate(args, rate) for rate in _rates(args.rates)]
    if args.report:
        from simlow.report import report

        report(args.report, serving=runs, title=f"simlow serving: {runs[0].model} on {runs[0].hw}")
    if args.json:
        print_json([r.to_dict() for r in runs])
        return 0
    ms = lambda s: f"{s * 1e3:,.1f}"
    print_table(f"{runs[0].model} / {runs[0].scheme} on {runs[0].hw} ({runs[0].engine}, {runs[0].arrivals})",
                ["rate req/s", "req/s", "out tok/s", "TTFT p50 ms", "TTFT p99 ms", "TPOT p50 ms", "E2E mean ms",
                 "preemptions"],
                [(f"{r.config['rate']:g}", f"{r.throughput_requests_per_s:,.2f}", f"{r.throughput_output_tok_s:,.0f}",
                  ms(r.ttft_s.p50), ms(r.ttft_s.p99), "-" if r.tpot_s is None else ms(r.tpot_s.p50),
                  ms(r.e2e_s.mean), r.preemptions) for r in runs])
    if args.report:
        print(f"wrote {args.report}")
    return 0


def run(args) -> int:
    if args.rates is not None:
        return _sweep(args)
    r = _simulate(args, args.rate)
    if args.report:
        from simlow.report import report

        report(args.report, serving=r, title=f"simlow serving: {r.model} on {r.hw}")
    if args.json:
        print_json(r.to_dict())
        return 0
    ms = lambda s: "-" if s is None else f"{s.mean * 1e3:,.1f} / {s.p50 * 1e3:,.1f} / {s.p90 * 1e3:,.1f} / {s.p99 * 1e3:,.1f}"
    rows = [("TTFT ms (mean / p50 / p90 / p99)", ms(r.ttft_s)), ("TPOT ms", ms(r.tpot_s)), ("ITL ms", ms(r.itl_s)),
            ("E2E ms", ms(r.e2e_s)),
            ("throughput", f"{r.throughput_requests_per_s:,.2f} req/s, {r.throughput_input_tok_s:,.0f} in tok/s, "
                           f"{r.throughput_output_tok_s:,.0f} out tok/s"),
            ("goodput", "-" if r.goodput_requests_per_s is None else f"{r.goodput_requests_per_s:,.2f} req/s"),
            ("preemptions / prefix-hit tokens", f"{r.preemptions} / {r.prefix_hit_tokens:,}"),
            ("KV", f"{r.kv['blocks']:,} blocks of {r.kv['block_size']}" if "blocks" in r.kv
             else f"{r.kv['slots']} slots of {r.kv['slot_context']} tokens"),
            ("energy", f"{r.energy_j_per_request:,.1f} J/request, {r.energy_j_per_output_token:.3f} J/output token"),
            ("simulated", f"{r.requests} requests over {r.duration_s:,.1f} s in {r.steps:,} steps")]
    print_table(f"{r.model} / {r.scheme} on {r.hw} ({r.engine}, {r.stack}, {r.arrivals})", ["figure", "value"], rows)
    for note in r.notes:
        print(f"note: {note if len(note) <= 240 else note[:240] + ' ...'}")
    return 0


def serving_summary(report) -> dict:
    """Error summaries of ``simlow.serving.validate.compare``'s report: for each group (all
    held-out rows, in-sample rows, each source file, each device with its split) and figure,
    n, median / mean / p90 |error| and the median signed error. In-sample: the row's group
    trained the stack's serving host time (``simlow.sim.host``)."""
    import numpy as np

    from simlow.validation.validate import summarize

    groups: dict[str, dict[str, list[float]]] = {}
    for c in report.comparisons:
        for g in (c.split, f"source {c.file}", f"device {c.device} ({c.split})"):
            groups.setdefault(g, {}).setdefault(c.figure, []).append(c.error)
    out = {}
    for g, figs in groups.items():
        out[g] = {}
        for f in SUMMARY_FIGURES:
            if f in figs:
                s = summarize(figs[f])
                out[g][f] = {"n": s.n, "median_abs": s.median_abs, "mean_abs": float(np.mean(np.abs(figs[f]))),
                             "p90_abs": s.p90_abs, "median_signed": s.median_signed}
    return out


def run_validate(args) -> int:
    """``simlow validate --serving``: every measured serving run beside its simulation."""
    from dataclasses import asdict

    from simlow.serving.validate import compare

    report = compare(args.data)
    summary = serving_summary(report)
    d = {"comparisons": [asdict(c) | {"error": c.error} for c in report.comparisons],
         "skipped": [asdict(s) for s in report.skipped], "summary": summary}
    if emit(d, args):
        return 0
    if args.rows:
        print_table("serving runs (simulated / measured - 1)", ["source", "line", "case", "figure", "measured",
                                                                 "simulated", "error"],
                    [(c.file, c.line, c.case, c.figure, f"{c.measured:,.4g}", f"{c.simulated:,.4g}",
                      f"{100 * c.error:+.1f}%") for c in report.comparisons])
    pct = lambda x: f"{100 * x:.1f}%"
    rows = [(g, f, s["n"], pct(s["median_abs"]), pct(s["mean_abs"]), pct(s["p90_abs"]), f"{100 * s['median_signed']:+.1f}%")
            for g, figs in summary.items() for f, s in figs.items()]
    print_table("serving error (|simulated / measured - 1|; in-sample: trained the serving host time)",
                ["group", "figure", "n", "median", "mean", "p90", "median signed"], rows)
    if report.skipped:
        print_table(f"rows not simulated ({len(report.skipped)})", ["source", "line", "case", "reason"],
                    [(s.file, s.line, s.case, s.reason) for s in report.skipped])
    return 0
