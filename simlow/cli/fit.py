"""``simlow fit``: does a model fit on a device, and how much memory does each part take?

Exits 0 when the setup fits and 3 when it does not (2 is bad input); ``--json`` carries
``"fits"``, the longest context and what limits it (the model's maximum or memory).
"""

from __future__ import annotations

from simlow.cli.output import add_json_flag, print_json, print_table
from simlow.memory import DEFAULT_CTX, fit
from simlow.quantities import fmt_bytes

EXIT_FITS, EXIT_DOES_NOT_FIT = 0, 3


def register(sub) -> None:
    p = sub.add_parser("fit", help="memory fit: weights, KV cache, workspace vs capacity",
                       epilog="exit codes: 0 fits, 3 does not fit, 2 bad input")
    p.add_argument("--model", required=True, help="model name, YAML, HF config.json or .gguf")
    p.add_argument("--hw", required=True, help="device name or YAML path")
    p.add_argument("--scheme", default=None,
                   help="weight quantization scheme (default: a .gguf file's own tensor types or a config.json's "
                        "quantization_config, else q4_0)")
    p.add_argument("--ctx", type=int, default=None,
                   help=f"context length the KV cache is sized for (default {DEFAULT_CTX}, or the model's "
                        "maximum when shorter)")
    p.add_argument("--batch", type=int, default=1, help="concurrent sequences (default 1)")
    p.add_argument("--kv-scheme", default=None, help="KV-cache scheme, e.g. kv-q8_0")
    p.add_argument("--memory", default=None, help="memory configuration, e.g. '64 GB' (the vendor's label) or '64 GiB'")
    add_json_flag(p)
    p.set_defaults(func=run)


def longest_context(r) -> str:
    """The longest fitting context and which limit binds it."""
    if r.max_context == 0:
        return "none (not even one token)"
    if r.max_context_limit == "model":
        return f"{r.max_context} tokens (the model's maximum; memory is not the limit)"
    return f"{r.max_context} tokens (memory-bound; the model allows {r.model_max_context})"


def run(args) -> int:
    r = fit(args.model, args.hw, args.scheme, ctx=args.ctx, batch=args.batch,
            kv_scheme=args.kv_scheme, memory=args.memory)
    code = EXIT_FITS if r.fits else EXIT_DOES_NOT_FIT
    if args.json:
        print_json(r.to_dict())
        return code
    fp = r.footprint
    given = "" if args.ctx is not None else ", default --ctx"
    rows = [(f"weights: {part}", fmt_bytes(b)) for part, b in fp.weights_bytes.items()]
    rows += [("weights total", fmt_bytes(fp.weight_total_bytes)),
             (f"KV cache ({fp.ctx} tokens x {fp.batch}{given})", fmt_bytes(fp.kv_cache_bytes)),
             ("activations / workspace", fmt_bytes(fp.activation_bytes)),
             ("total", fmt_bytes(fp.total_bytes)),
             ("usable capacity", f"{fmt_bytes(fp.usable_bytes)} of {fmt_bytes(fp.capacity_bytes)}")]
    print_table(f"{r.model} / {r.scheme} on {r.hw}", ["part", "bytes (GiB = 2^30 B)"], rows)
    if r.fits:
        print(f"fits, {fmt_bytes(fp.usable_bytes - fp.total_bytes)} to spare; longest context at batch "
              f"{fp.batch}: {longest_context(r)}; largest batch at {fp.ctx} tokens: {r.max_batch}")
    else:
        print(f"does NOT fit: {fmt_bytes(fp.shortfall_bytes)} short; longest context that fits: "
              f"{longest_context(r)}; largest batch: {r.max_batch}")
    for note in r.notes:
        print(f"note: {note}")
    return code
