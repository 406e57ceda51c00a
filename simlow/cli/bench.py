"""``simlow bench``: the project's own speed figures, as ratios against a baseline."""

from __future__ import annotations

from simlow import bench
from simlow.errors import SimlowError
from simlow.cli.output import add_json_flag, print_json, print_table


def register(sub) -> None:
    p = sub.add_parser("bench", help="run the speed benchmarks (ratios against baselines)")
    p.add_argument("areas", nargs="*", help=f"areas to run (default all: {', '.join(bench.MODULES)})")
    p.add_argument("--model-shapes", metavar="MODEL",
                   help="instead: quantize every distinct weight shape of MODEL in fresh processes, "
                        "compile included, against gguf-py (area quant only)")
    p.add_argument("--formats", default="q4_0,q8_0", help="formats for --model-shapes (default q4_0,q8_0)")
    p.add_argument("--runs", type=int, default=3, help="fresh processes per format for --model-shapes")
    add_json_flag(p)
    p.set_defaults(func=run)


_GGUF_QUANTIZERS = ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "mxfp4", "tq1_0", "tq2_0")


def _model_shapes(args):
    from simlow.bench.quant_model import model_shape_benches
    from simlow.quant.registry import get_format

    if set(args.areas) - {"quant"}:
        raise SimlowError(f"--model-shapes is a quant benchmark; got areas {', '.join(args.areas)} (valid: quant)")
    if args.runs < 1:
        raise SimlowError(f"--runs must be at least 1, got {args.runs}")
    formats = tuple(get_format(f.strip()).name for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in _GGUF_QUANTIZERS]
    if bad or not formats:
        raise SimlowError(f"--formats {args.formats!r}: gguf-py has no quantizer to compare for "
                          f"{', '.join(bad) or 'an empty list'} (valid: {', '.join(_GGUF_QUANTIZERS)})")
    return model_shape_benches(args.model_shapes, formats, args.runs)


def run(args) -> int:
    results = _model_shapes(args) if args.model_shapes else bench.run_all(tuple(args.areas))
    if args.json:
        print_json([r.to_dict() for r in results])
        return 0
    rows = [
        (r.name, f"{r.value:.4g} {r.unit}", r.target, {True: "yes", False: "NO", None: "-"}[r.met], r.detail)
        for r in results
    ]
    print_table("simlow bench", ["benchmark", "measured", "target", "met", "detail"], rows)
    return 0
