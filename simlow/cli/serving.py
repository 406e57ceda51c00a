"""``simlow serving``: a request-level simulation of an inference server under load."""

from __future__ import annotations

from simlow.cli.output import add_json_flag, print_json, print_table


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
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from simlow.serving import simulate_serving

    r = simulate_serving(
        args.model, args.hw, args.scheme, stack=args.stack, engine=args.engine, arrivals=args.arrivals,
        rate=args.rate, requests=args.requests, prompt_len=args.prompt_len, output_len=args.output_len,
        trace=args.trace, concurrency=args.concurrency, cv=args.cv, seed=args.seed,
        max_num_seqs=args.max_num_seqs, max_batched_tokens=args.max_batched_tokens,
        long_prefill_token_threshold=args.long_prefill_token_threshold, kv_blocks=args.kv_blocks,
        block_size=args.block_size, gpu_memory_utilization=args.gpu_memory_utilization,
        prefix_caching=not args.no_prefix_caching, kv_scheme=args.kv_scheme, slo_ttft=args.slo_ttft,
        slo_tpot=args.slo_tpot, device_engine=args.device_engine)
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
