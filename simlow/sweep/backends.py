"""Where a sweep's points run: in this process, on a local process pool, or on Ray.

A backend has one method, ``run(evaluator_name, chunks)``, yielding each chunk's rows as
soon as that chunk finishes (completion order; the runner records rows as they come, and
the CSV sorts them). Work crosses process boundaries as plain data: the evaluator's
registry name and ``(index, settings)`` pairs.

- ``Serial``: in this process, chunk after chunk (tests, debugging, tiny sweeps).
- ``LocalPool(workers)``: a ``ProcessPoolExecutor`` with the ``spawn`` start method (no
  forked copies of a parent that may hold JAX or threads). The default.
- ``Ray(address)``: tasks on a Ray cluster (``pip install simlow[ray]``). ``address`` is
  passed to ``ray.init`` as given (the CLI reads it from ``RAY_ADDRESS``); ``None`` starts
  a local Ray instance. When Ray is already initialized in this process, that session is
  used as it is and left running.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from dataclasses import dataclass
from typing import Iterator, Sequence

from simlow.errors import SimlowError
from simlow.sweep.evaluators import evaluate_chunk

Chunk = list  # list[tuple[int, dict]]


@dataclass(frozen=True)
class Serial:
    workers: int = 1

    def run(self, name: str, chunks: Sequence[Chunk]) -> Iterator[list[dict]]:
        for chunk in chunks:
            yield evaluate_chunk(name, chunk)


@dataclass(frozen=True)
class LocalPool:
    workers: int = 2

    def run(self, name: str, chunks: Sequence[Chunk]) -> Iterator[list[dict]]:
        ctx = multiprocessing.get_context("spawn")
        pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        try:
            futures = [pool.submit(evaluate_chunk, name, c) for c in chunks]
            for fut in cf.as_completed(futures):
                yield fut.result()
        finally:
            # On an interruption (KeyboardInterrupt, the consumer closing the generator)
            # drop the queued chunks; rows already yielded are recorded.
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class Ray:
    address: str | None = None
    workers: int = 0          # 0: as many concurrent tasks as the cluster schedules

    def run(self, name: str, chunks: Sequence[Chunk]) -> Iterator[list[dict]]:
        try:
            import ray
        except ModuleNotFoundError:
            raise SimlowError("--backend ray needs Ray: pip install 'simlow[ray]'") from None
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        task = ray.remote(evaluate_chunk)
        pending = [task.remote(name, c) for c in chunks]
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                yield ray.get(ready[0])
        finally:
            for ref in pending:
                ray.cancel(ref)


def backend(name: str, workers: int = 2, address: str | None = None):
    """A backend by name: ``local`` (process pool; ``workers`` <= 1 runs in-process) or ``ray``."""
    if name == "local":
        return Serial() if workers <= 1 else LocalPool(workers)
    if name == "ray":
        return Ray(address, workers)
    raise SimlowError(f"unknown backend {name!r} (valid: local, ray)")
