"""``simlow models``: the shipped model shapes and schemes."""

from __future__ import annotations

from simlow.cli.output import add_json_flag, print_json, print_table
from simlow.specs import load_model, load_scheme, names
from simlow.specs.scheme import SchemeKind
from simlow.specs.tensors import active_param_count, param_count


def register(sub) -> None:
    p = sub.add_parser("models", help="list model shapes (and --schemes: quantization schemes)")
    p.add_argument("--schemes", action="store_true", help="list quantization schemes instead")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.schemes:
        schemes = [load_scheme(n) for n in names("scheme")]
        rows = [{"name": s.name, "title": s.title, "kind": s.kind,
                 "default": s.weights["default"].name if s.kind is SchemeKind.WEIGHTS else None,
                 "kv_cache": s.kv_cache.name, "compute": s.compute} for s in schemes]
        title = "schemes"
    else:
        models = [load_model(n) for n in names("model")]
        rows = [{"name": m.name, "title": m.title, "params": param_count(m),
                 "active_params": active_param_count(m), "layers": m.layers,
                 "hidden": m.hidden_size, "max_context": m.max_context,
                 "moe": f"{m.moe.experts}x top-{m.moe.top_k}" if m.moe else ""} for m in models]
        title = "models"
    if args.json:
        print_json(rows)
    elif rows:
        print_table(title, list(rows[0]), [list(r.values()) for r in rows])
    return 0
