"""``simlow quant compare``: error metrics per quantization format on a tensor, a synthetic
distribution, or the MiniLM weights."""

from __future__ import annotations

import numpy as np

from simlow.cli.output import add_json_flag, print_json, print_table
from simlow.errors import SimlowError


def register(sub) -> None:
    p = sub.add_parser("quant", help="quantization formats: compare their error")
    verbs = p.add_subparsers(dest="quant_verb", required=True, metavar="VERB")
    c = verbs.add_parser("compare", help="error metrics per format (MSE, SQNR, max, inner-product)")
    c.add_argument("--formats", required=True, help="comma-separated format names, e.g. q4_0,mxfp4,pot4")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--tensor", help="a .npy file (float array; the last axis is the row)")
    src.add_argument("--synthetic", choices=["gaussian", "heavy-tailed"], help="a seeded synthetic tensor")
    src.add_argument("--minilm", action="store_true", help="the 36 encoder weight matrices of all-MiniLM-L6-v2")
    c.add_argument("--seed", type=int, default=0)
    add_json_flag(c)
    c.set_defaults(func=run_compare)


def _tensors(args) -> dict:
    from simlow.quant import compare, weights
    if args.minilm:
        return weights.minilm_matrices()
    if args.synthetic:
        return compare.synthetic(args.synthetic, args.seed)
    try:
        arr = np.load(args.tensor, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise SimlowError(f"--tensor {args.tensor}: cannot read a .npy array ({err})") from None
    if not np.issubdtype(arr.dtype, np.floating) or arr.ndim < 1:
        raise SimlowError(f"--tensor {args.tensor}: expected a float array, got {arr.dtype} {arr.shape}")
    return {args.tensor: arr.astype(np.float32)}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3g}"


def run_compare(args) -> int:
    from simlow.quant import compare
    names = [n.strip() for n in args.formats.split(",") if n.strip()]
    result = compare.compare(_tensors(args), names, seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    rows = [(asked, f"{r['bits_per_weight']:.4g}", f"{r['tensors']}/{r['tensors'] + r['skipped']}",
             _fmt(r["mse"]), _fmt(r["sqnr_db"]), _fmt(r["max_err"]), _fmt(r["ip_bias"]), _fmt(r["ip_var"]))
            for asked, r in zip(names, result["rows"])]
    title = (f"quant compare (kurtosis {result['kurtosis']:.3g}, after Hadamard "
             f"{_fmt(result['kurtosis_hadamard'])})")
    print_table(title, ["format", "bits/w", "tensors", "MSE", "SQNR dB", "max err", "ip bias", "ip var"], rows)
    return 0
