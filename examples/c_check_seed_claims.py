"""Check the seed documents' claims: a verdict with the numbers behind each.

Runs every claim in ``workloads/claims/seeds.yaml`` through simlow (memory fit, bandwidth
and compute rooflines, the simulated stack, the cost model), prints the count per verdict
and the claims that break a hard bound, and writes ``claims.html`` (the verdict table) to
the folder given as the first argument.

    python examples/c_check_seed_claims.py out/
"""

import sys
from collections import Counter
from pathlib import Path

import simlow
from simlow.specs.registry import data_root

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
out.mkdir(parents=True, exist_ok=True)

verdicts = [v.to_dict() for v in simlow.check_claims(data_root() / "workloads" / "claims" / "seeds.yaml")]
for verdict, n in Counter(v["verdict"] for v in verdicts).most_common():
    print(f"{n:4d} {verdict}")
print("\nclaims that break a hard bound:")
for v in verdicts:
    if v["verdict"] == "impossible":
        print(f"- {v['claim']} ({v['candidate']}): {v['sentence']}")

simlow.report(out / "claims.html", claims=verdicts, title="The seed claims, checked")
print(f"\nwrote {out / 'claims.html'}")
