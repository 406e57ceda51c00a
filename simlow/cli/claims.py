"""``simlow claims check FILE``: verdicts on vendor and press claims, with the numbers."""

from __future__ import annotations

from simlow.cli.output import add_json_flag, print_json, print_table


def register(sub) -> None:
    p = sub.add_parser("claims", help="check speed and memory claims against hard bounds and simulation")
    verbs = p.add_subparsers(dest="claims_command", required=True, metavar="VERB")
    check = verbs.add_parser("check", help="a verdict for every claim in a claim file")
    check.add_argument("file", help="claim YAML, e.g. workloads/claims/seeds.yaml")
    add_json_flag(check)
    check.set_defaults(func=run_check)


def _num(value) -> str:
    from simlow.claims.claimed import Claimed

    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Claimed):
        return value.text(lambda x: f"{x:.4g}")
    return f"{value:.4g}"


def run_check(args) -> int:
    from simlow.claims import check_claims

    verdicts = check_claims(args.file)
    if args.json:
        print_json([v.to_dict() for v in verdicts])
        return 0
    rows = [(i, v.claim_id, v.candidate or "-", v.metric.value if v.metric else "-", v.outcome.value,
             _num(v.claimed), _num(v.bound), _num(v.simulated)) for i, v in enumerate(verdicts, 1)]
    print_table(f"claims in {args.file}", ["#", "claim", "configuration", "metric", "verdict", "claimed",
                                           "bound", "simlow"], rows)
    for i, v in enumerate(verdicts, 1):
        print(f"{i:3d}. {v.claim_id}: {v.outcome.value}: {v.sentence}")
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.outcome.value] = counts.get(v.outcome.value, 0) + 1
    print(", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0
