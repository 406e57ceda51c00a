"""``simlow predict``: tokens/s, time to first token, joules/token, fit and bound.

The KV cache is sized for ``--ctx`` tokens, by default the tokens this run holds
(depth + prompt + gen; ``simlow fit`` instead defaults to a 4096-token context). Exits 0
when the setup fits in memory, 3 when it does not (the speeds are then as if it fitted,
unless ``--offload`` says how), 2 on bad input.
"""

from __future__ import annotations

from simlow.cli.output import add_json_flag, print_json, print_table
from simlow.quantities import fmt_bytes

EXIT_FITS, EXIT_DOES_NOT_FIT = 0, 3


def register(sub) -> None:
    p = sub.add_parser("predict", help="predict prefill/decode speed, TTFT, energy and fit",
                       epilog="exit codes: 0 fits, 3 does not fit, 2 bad input")
    p.add_argument("--model", required=True, help="model name or path")
    p.add_argument("--hw", required=True, help="hardware name or path")
    p.add_argument("--scheme", default=None,
                   help="weight quantization scheme (default: a .gguf file's own tensor types or a config.json's "
                        "quantization_config, else q4_0)")
    p.add_argument("--kv-scheme", default=None, help="KV-cache scheme applied on top")
    p.add_argument("--stack", default=None, help="software stack (default: llama.cpp for the vendor)")
    p.add_argument("--engine", default=None, help="engine of the device to run on")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--prompt", type=int, default=512)
    p.add_argument("--gen", type=int, default=128)
    p.add_argument("--ctx", type=int, default=None,
                   help="context the KV cache is sized for (default depth + prompt + gen)")
    p.add_argument("--depth", type=int, default=0, help="tokens already in the KV cache")
    p.add_argument("--routing", default=None,
                   help="MoE routing: uniform (default), zipf or zipf:S; an error on a dense model")
    p.add_argument("--fidelity", default="roofline", choices=("roofline", "des"))
    p.add_argument("--offload", default=None, metavar="K=V,...",
                   help="offload (runs the DES): device_layers=N[,host=auto|cpu|stream] (auto, the default: "
                        "as llama.cpp, steps of >= 32 tokens stream host layers to the GPU, smaller ones run "
                        "them on the CPU) or "
                        "experts=lru|lfu|static[,fraction=0.08][,ring=N][,seed=N]")
    p.add_argument("--prefetch", type=int, default=0, help="weight prefetch depth in ops (runs the DES)")
    p.add_argument("--tp", type=int, default=1, help="tensor parallel over N devices of --hw (roofline)")
    p.add_argument("--pp", type=int, default=1,
                   help="pipeline parallel: N stages of --tp devices each, as vLLM runs them (DES: batch 1 only)")
    p.add_argument("--split", default=None, metavar="layer|row:R1,R2",
                   help="llama.cpp split over devices of --hw by ratio: layer:3,1 (-sm layer -ts 3,1) or row:1,1 "
                        "(-sm row -ts 1,1; roofline)")
    p.add_argument("--link", default="nvlink", choices=("nvlink", "pcie"),
                   help="link between the devices of --tp / --pp / --split (default nvlink: the hwspec's peer link)")
    p.add_argument("--timeline", action="store_true", help="print the per-op timeline")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from simlow.sim.predict import predict

    p = predict(args.model, args.hw, args.scheme, batch=args.batch, prompt=args.prompt, gen=args.gen,
                ctx=args.ctx, kv_scheme=args.kv_scheme, stack=args.stack, engine=args.engine,
                fidelity=args.fidelity, depth=args.depth, routing=_routing(args),
                offload=args.offload, prefetch=args.prefetch, tp=args.tp, split=args.split, link=args.link,
                pp=args.pp)
    code = EXIT_FITS if p.fits else EXIT_DOES_NOT_FIT
    if args.json:
        print_json(p.to_dict(timeline=True))
        return code
    mem = p.memory
    given = "" if args.ctx is not None else ", default --ctx"
    per = f", per device of {len(mem['devices'])}" if "devices" in mem else ""
    rows = [
        ("prefill", f"{p.prefill_tok_s:,.1f} tok/s" if p.prefill_tok_s else "-", p.bound.get("prefill", "-")),
        ("decode", f"{p.decode_tok_s:,.2f} tok/s" if p.decode_tok_s else "-", p.bound.get("decode", "-")),
        ("time to first token", f"{p.ttft_s * 1e3:,.2f} ms", ""),
        ("energy per token", f"{p.energy_j_per_token:.3f} J" if p.energy_j_per_token else "-", "modelled"),
        (f"memory (KV cache {p.ctx} tokens x {p.batch}{given}{per})",
         f"{fmt_bytes(mem['total_bytes'])} of {fmt_bytes(mem['usable_bytes'])} usable",
         "fits" if mem["total_bytes"] <= mem["usable_bytes"] else f"short by {fmt_bytes(mem['total_bytes'] - mem['usable_bytes'])}"),
    ]
    rows += [(f"  device {i}", f"{fmt_bytes(d['total_bytes'])} of {fmt_bytes(d['usable_bytes'])} usable",
              "fits" if d["fits"] else f"short by {fmt_bytes(d['shortfall_bytes'])}")
             for i, d in enumerate(mem.get("devices", ())) if "tensor parallel over" not in mem["parallel"]]
    if "device_bytes" in mem:  # offloaded: what sits on the device decides the fit
        rows.append(("offloaded: device / host", f"{fmt_bytes(mem['device_bytes'])} / {fmt_bytes(mem['host_bytes'])}",
                     "device part fits" if p.fits else f"device part short by {fmt_bytes(p.shortfall_bytes)}"))
    print_table(f"{p.model} / {p.scheme} on {p.hw} ({p.stack}, {p.engine}, {p.fidelity})",
                ["figure", "value", "bound / note"], rows)
    if args.timeline:
        from simlow.report.timeline import layer_span

        print_table("timeline (per op, summed over its layers and the steps)",
                    ["phase", "op", "layers (repeat)", "ms", "bound", "format"],
                    [(e.phase, e.op, f"{layer_span(e.layers)} (x{len(e.layers)})" if e.layers else "-",
                      f"{e.duration_s * 1e3:.3f}", e.bound, e.format) for e in p.timeline])
    for note in p.notes:
        print(f"note: {_short(note)}")
    return code


def _routing(args):
    """The ``--routing`` distribution; refused on a dense model rather than ignored."""
    from simlow.errors import SimlowError
    from simlow.workload.routing import parse_routing
    from simlow.specs import load_model

    if args.routing is None:
        return None
    routing = parse_routing(args.routing)
    model = load_model(args.model)
    if model.moe is None:
        raise SimlowError(f"--routing {args.routing}: {model.name} is a dense model (no experts to route); "
                          "drop --routing")
    return routing


def _short(note: str, limit: int = 240) -> str:
    """One note, cut to ``limit`` characters (the whole text is in ``--json``)."""
    return note if len(note) <= limit else note[:limit].rsplit(" ", 1)[0] + " ... (full text in --json)"
