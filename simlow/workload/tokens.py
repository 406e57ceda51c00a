"""A workload in tokens: how many sequences, how much prompt, how many generated tokens.

The one workload type of a prediction's inputs: claim files (``simlow.claims``), NPU sizing
(``simlow.npu``) and the CLI build it; ``simlow.sim.predict`` takes its numbers.
(A server's stream of requests is ``simlow.serving.arrivals.RequestStream``.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    """Sequences and token counts, as ``simlow.sim.predict`` takes them: ``batch``
    sequences each with ``depth`` tokens already cached, a ``prompt``-token prefill, then
    ``gen`` decode steps; ``ctx`` sizes the KV cache (default ``depth + prompt + gen``)."""

    batch: int = 1
    prompt: int = 512
    gen: int = 128
    depth: int = 0
    ctx: int | None = None

    @property
    def context(self) -> int:
        return self.ctx if self.ctx is not None else self.depth + self.prompt + self.gen
