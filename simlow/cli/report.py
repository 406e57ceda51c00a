"""``simlow report -o report.html``: one self-contained HTML report (plotly, works offline).

Draw saved results (``--prediction p.json``, ``--sweep rows.jsonl``...) or predict now
(``--model M --hw H [--scheme S ...]``). ``--png`` also saves a screenshot of the page
through headless Chromium, where the machine has one.
"""

from __future__ import annotations

from pathlib import Path

from simlow.cli.output import add_json_flag, print_json
from simlow.errors import SimlowError


def register(sub) -> None:
    p = sub.add_parser("report", help="HTML report: roofline, timeline, memory, Pareto fronts, claims, serving")
    p.add_argument("-o", "--out", required=True, help="HTML file to write")
    p.add_argument("--title", default="simlow report")
    g = p.add_argument_group("saved results (JSON from --json / to_dict(), or a sweep's JSONL)")
    for name, what in (("prediction", "a prediction"), ("fit", "one or more memory fits"),
                       ("sweep", "sweep rows (.jsonl)"), ("quant", "quantization error rows per format"),
                       ("claims", "claim verdicts (.json), or a claims YAML to check now"),
                       ("designs", "design sweep rows (.jsonl from simlow design sweep)"),
                       ("serving", "one serving result or a list of them (.json from simlow serving --json)")):
        g.add_argument(f"--{name}", default=None, metavar="FILE", help=what)
    n = p.add_argument_group("predict now (instead of --prediction)")
    n.add_argument("--model")
    n.add_argument("--hw")
    n.add_argument("--scheme", default=None, help="default: a .gguf file's own tensor types or a "
                   "config.json's quantization_config, else q4_0")
    n.add_argument("--kv-scheme", default=None)
    n.add_argument("--stack", default=None)
    n.add_argument("--fidelity", default="roofline")
    n.add_argument("--batch", type=int, default=1)
    n.add_argument("--prompt", type=int, default=512)
    n.add_argument("--gen", type=int, default=128)
    p.add_argument("--png", default=None, metavar="FILE", help="also save a PNG screenshot (needs chromium)")
    add_json_flag(p)
    p.set_defaults(func=run)


def _prediction(args):
    if args.model is None and args.hw is None:
        return args.prediction
    if args.prediction is not None or args.model is None or args.hw is None:
        raise SimlowError("give --prediction FILE, or both --model and --hw to predict now")
    from simlow.sim import predict

    return predict(args.model, args.hw, args.scheme, batch=args.batch, prompt=args.prompt, gen=args.gen,
                   kv_scheme=args.kv_scheme, stack=args.stack, fidelity=args.fidelity)


def _claims(path):
    if path is None or Path(path).suffix not in (".yaml", ".yml"):
        return path
    from simlow.claims import check_claims

    return check_claims(path)


def run(args) -> int:
    from simlow.report import report

    report(args.out, prediction=_prediction(args), fit=args.fit, sweep=args.sweep, quant=args.quant,
           claims=_claims(args.claims), designs=args.designs,
           serving=args.serving, title=args.title)
    out = {"html": args.out}
    if args.png:
        from simlow.report.png import screenshot

        out["png"] = str(screenshot(args.out, args.png))
    if args.json:
        print_json(out)
    else:
        print(f"wrote {args.out}" + (f" and {out['png']}" if "png" in out else ""))
    return 0
