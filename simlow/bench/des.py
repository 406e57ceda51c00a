"""DES speed: one llama-3-70b decode prediction of 1,024 generated tokens.

Target (issue 6): under 1 s on one core. Reported as absolute seconds and as a ratio
against the roofline prediction of the same workload timed in the same run.
"""

from __future__ import annotations

from simlow.bench import BenchResult, best_time

WORKLOAD = dict(model="llama-3-70b", hw="h100-sxm", scheme="q4_0", batch=1, prompt=512, gen=1024)


def _des() -> object:
    from simlow.sim.predict import predict

    return predict(**WORKLOAD, fidelity="des")


def _roofline() -> object:
    from simlow.sim.predict import predict

    return predict(**WORKLOAD, fidelity="roofline")


def des_70b_decode_seconds() -> BenchResult:
    t = best_time(_des)
    return BenchResult("des llama-3-70b decode 1024 tokens", t, "s", "< 1 s", t < 1.0,
                       f"{WORKLOAD}; {', '.join(_des().notes[2:])}")


def des_over_roofline() -> BenchResult:
    des, roof = best_time(_des), best_time(_roofline)
    return BenchResult("des / roofline time, llama-3-70b decode 1024 tokens", des / roof,
                       "x roofline predict time", "none (DES < 1 s is the target)", None,
                       f"des {des:.4f} s, roofline {roof:.4f} s")


BENCHES = (des_70b_decode_seconds, des_over_roofline)
