"""``simlow fit``: does a model fit on a device, and how much memory does each part take?"""

from __future__ import annotations

from simlow.cli.output import add_json_flag, print_json, print_table
from simlow.memory import fit
from simlow.quantities import fmt_bytes


def register(sub) -> None:
    p = sub.add_parser("fit", help="memory fit: weights, KV cache, workspace vs capacity")
    p.add_argument("--model", required=True, help="model name, YAML, HF config.json or .gguf")
    p.add_argument("--hw", required=True, help="device name or YAML path")
    p.add_argument("--scheme", default=None,
                   help="weight quantization scheme (default: a .gguf file's own tensor types or a config.json's "
                        "quantization_config, else q4_0)")
    p.add_argument("--ctx", type=int, default=None, help="context length (default min(4096, model max))")
    p.add_argument("--batch", type=int, default=1, help="concurrent sequences (default 1)")
    p.add_argument("--kv-scheme", default=None, help="KV-cache scheme, e.g. kv-q8_0")
    p.add_argument("--memory", default=None, help="memory configuration, e.g. '64 GB' (the vendor's label) or '64 GiB'")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    r = fit(args.model, args.hw, args.scheme, ctx=args.ctx, batch=args.batch,
            kv_scheme=args.kv_scheme, memory=args.memory)
    if args.json:
        print_json(r.to_dict())
        return 0
    fp = r.footprint
    rows = [(f"weights: {part}", fmt_bytes(b)) for part, b in fp.weights_bytes.items()]
    rows += [("weights total", fmt_bytes(fp.weight_total_bytes)),
             (f"KV cache ({fp.ctx} tokens x {fp.batch})", fmt_bytes(fp.kv_cache_bytes)),
             ("activations / workspace", fmt_bytes(fp.activation_bytes)),
             ("total", fmt_bytes(fp.total_bytes)),
             ("usable capacity", f"{fmt_bytes(fp.usable_bytes)} of {fmt_bytes(fp.capacity_bytes)}")]
    print_table(f"{r.model} / {r.scheme} on {r.hw}", ["part", "bytes"], rows)
    if r.fits:
        print(f"fits, {fmt_bytes(fp.usable_bytes - fp.total_bytes)} to spare; longest context at batch "
              f"{fp.batch}: {r.max_context} tokens; largest batch at {fp.ctx} tokens: {r.max_batch}")
    else:
        print(f"does NOT fit: {fmt_bytes(fp.shortfall_bytes)} short; longest context that fits: "
              f"{r.max_context} tokens; largest batch: {r.max_batch}")
    for note in r.notes:
        print(f"note: {note}")
    return 0
