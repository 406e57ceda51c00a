"""Claims: vendor and press speed claims checked against hard bounds and simulation.

Layering: ``metrics`` (what a claim is about) and ``schema`` (claim files as frozen types)
-> ``load`` (claim files read from strict YAML)
-> ``bounds`` (hard ceilings from bytes and operations; uses ``simlow.memory`` and specs)
-> ``simulate`` (adapters to ``simlow.sim.predict`` and ``simlow.cost``, imported on use)
-> ``answers`` / ``relative`` (one configuration) -> ``verdict`` (classification) ->
``checker`` (files). Nothing here prints; ``simlow.cli.claims`` shows the verdicts.

    verdicts = simlow.check_claims("workloads/claims/seeds.yaml")
"""

from simlow.claims.checker import check_claim, check_claims, check_file
from simlow.claims.metrics import Direction, Kind, Metric
from simlow.claims.load import load_claims
from simlow.claims.schema import Claim, ClaimFile, Config, NotChecked, Offload
from simlow.workload.tokens import Workload
from simlow.claims.verdict import Margins, Outcome, Verdict

__all__ = ["check_claims", "check_claim", "check_file", "load_claims", "Claim", "ClaimFile", "Config",
           "NotChecked", "Offload", "Workload", "Metric", "Direction", "Kind", "Margins", "Outcome", "Verdict"]
