"""What a claim is about: the metrics the checker can reason about, with their direction.

``Metric`` is the one registry of claim metrics; everything downstream switches on the enum
member, never on the text. Each metric knows

- its **direction**: whether a larger value is the better one for the claimant (a speed)
  or a smaller one (a time, bytes, joules, bits, silicon area);
- its **kind**: how the checker gets an answer (a rate the simulator predicts, an exact
  byte count, a spec figure, a yes/no fit, a cost-model ratio);
- which claim keys it needs (``needs``), so the loader can refuse an incomplete claim;
- the unit its claimed value is written in (``dim``: a ``simlow.quantities.Dim`` when the claim
  may write a quantity with a unit such as ``"18 GB"``, else None for a plain number).

Relative claims (a ``baseline`` configuration) use the same metrics: the claimed value is
then the improvement factor in the metric's better direction (``2.71`` for "2.71x faster",
``3.55`` for "3.55x less memory").
"""

from __future__ import annotations

import enum

from simlow.quantities import Dim


class Direction(enum.Enum):
    HIGHER = "higher is better"
    LOWER = "lower is better"


class Kind(enum.Enum):
    RATE = "rate"            # simulated throughput with roofline upper bounds
    TIME = "time"            # simulated time or energy with roofline lower bounds
    EXACT = "exact"          # byte arithmetic: the answer is exact
    SPEC = "spec"            # a figure read from a hardware spec
    FIT = "fit"              # yes / no against memory capacity
    CAPACITY = "capacity"    # the longest context that fits
    COST = "cost"            # the cost model's area / clock ratios
    SERVING = "serving"      # a server under load, simulated request by request (simlow.serving)


class Metric(enum.Enum):
    DECODE_TOK_S = "decode_tok_s"
    PREFILL_TOK_S = "prefill_tok_s"
    TTFT_S = "ttft_s"
    ENERGY_J_PER_TOKEN = "energy_j_per_token"
    MEMORY_BYTES = "memory_bytes"
    BITS_PER_WEIGHT = "bits_per_weight"
    FITS = "fits"
    MAX_CONTEXT = "max_context"
    MEMORY_BANDWIDTH = "memory_bandwidth"
    COMPUTE_PEAK = "compute_peak"      # the primary engine's peak in the scheme's compute format
    AREA_RATIO = "area_ratio"
    CLOCK_RATIO = "clock_ratio"
    SERVING_TOK_S = "serving_tok_s"    # output tokens/s of a server under load (simulate_serving)

    @property
    def kind(self) -> Kind:
        return _KIND[self]

    @property
    def direction(self) -> Direction:
        return Direction.LOWER if self in _LOWER else Direction.HIGHER

    @property
    def needs(self) -> tuple[str, ...]:
        """Claim keys this metric cannot be answered without."""
        return ("hw", "scheme") if self is Metric.COMPUTE_PEAK else _NEEDS[self.kind]

    @property
    def dim(self) -> Dim | None:
        return _DIM.get(self)

    @property
    def unit(self) -> str:
        return _UNIT[self]


_KIND = {
    Metric.DECODE_TOK_S: Kind.RATE, Metric.PREFILL_TOK_S: Kind.RATE,
    Metric.TTFT_S: Kind.TIME, Metric.ENERGY_J_PER_TOKEN: Kind.TIME,
    Metric.MEMORY_BYTES: Kind.EXACT, Metric.BITS_PER_WEIGHT: Kind.EXACT,
    Metric.FITS: Kind.FIT, Metric.MAX_CONTEXT: Kind.CAPACITY,
    Metric.MEMORY_BANDWIDTH: Kind.SPEC, Metric.COMPUTE_PEAK: Kind.SPEC,
    Metric.AREA_RATIO: Kind.COST, Metric.CLOCK_RATIO: Kind.COST,
    Metric.SERVING_TOK_S: Kind.SERVING,
}
_LOWER = {Metric.TTFT_S, Metric.ENERGY_J_PER_TOKEN, Metric.MEMORY_BYTES, Metric.BITS_PER_WEIGHT,
          Metric.AREA_RATIO}
_NEEDS = {
    Kind.RATE: ("model", "hw", "scheme"), Kind.TIME: ("model", "hw", "scheme"),
    Kind.EXACT: ("model", "scheme"), Kind.SPEC: ("hw",), Kind.FIT: ("model", "hw", "scheme"),
    Kind.CAPACITY: ("model", "hw", "scheme"), Kind.COST: ("cost",),
    Kind.SERVING: ("model", "hw", "scheme", "serving"),
}
_DIM = {Metric.MEMORY_BYTES: Dim.BYTES, Metric.MEMORY_BANDWIDTH: Dim.BANDWIDTH, Metric.TTFT_S: Dim.TIME,
        Metric.COMPUTE_PEAK: Dim.OPS_RATE,
        Metric.ENERGY_J_PER_TOKEN: Dim.ENERGY}
_UNIT = {
    Metric.DECODE_TOK_S: "tok/s", Metric.PREFILL_TOK_S: "tok/s", Metric.TTFT_S: "s",
    Metric.ENERGY_J_PER_TOKEN: "J/token", Metric.MEMORY_BYTES: "B", Metric.BITS_PER_WEIGHT: "bits/weight",
    Metric.FITS: "", Metric.MAX_CONTEXT: "tokens", Metric.MEMORY_BANDWIDTH: "B/s", Metric.COMPUTE_PEAK: "op/s",
    Metric.AREA_RATIO: "x", Metric.CLOCK_RATIO: "x", Metric.SERVING_TOK_S: "tok/s",
}
