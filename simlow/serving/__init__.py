"""Request-level simulation of an inference server under load (``simulate_serving``).

Arrivals (``arrivals``), the step cost of a mixed batch from the op graph (``cost``), the
paged KV cache (``kv``), the engines' schedulers (``vllm``, ``static``, ``llamacpp``), the
run record (``state``) and what it reports (``results``), tied together in ``simulate``.
"""

from simlow.serving.results import ServingResult, Summary
from simlow.serving.simulate import ServingEngine, simulate_serving

__all__ = ["ServingEngine", "ServingResult", "Summary", "simulate_serving"]
