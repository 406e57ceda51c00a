"""Seeded expert draws from a routing distribution (``simlow.workload.routing``).

Each token picks ``top_k`` distinct experts so that expert ``e`` is in a token's set with
exactly the distribution's inclusion probability ``pi_e`` (``sum(pi) == top_k``, every
``pi_e <= 1``). Method: systematic sampling over a random order (Madow 1949): shuffle the
experts, lay their ``pi`` end to end on ``[0, top_k)``, draw ``u`` uniform in ``[0, 1)`` and
take the experts covering ``u, u + 1, ..., u + top_k - 1``. Each covers at most one point
(its ``pi <= 1``), so the set has ``top_k`` distinct experts and ``P(e chosen) = pi_e``.
Tokens are independent, matching the independence ``routing.distinct`` assumes, so the
mean number of distinct experts a batch touches equals ``routing.distinct`` (tested).

Randomness comes only from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import numpy as np


def draw(rng: np.random.Generator, pi: np.ndarray, top_k: int, tokens: int) -> np.ndarray:
    """``tokens x top_k`` expert ids, each row distinct (see the module docstring)."""
    e = len(pi)
    out = np.empty((tokens, top_k), dtype=np.int64)
    for t in range(tokens):
        order = rng.permutation(e)
        edges = np.cumsum(pi[order])
        points = rng.random() + np.arange(top_k)
        idx = np.minimum(np.searchsorted(edges, points, side="right"), e - 1)
        out[t] = order[idx]
    return out


def routed(ids: np.ndarray) -> dict[int, int]:
    """Tokens per distinct expert of one layer's draw (expert id -> tokens), ids ascending."""
    u, c = np.unique(ids, return_counts=True)
    return {int(a): int(b) for a, b in zip(u, c)}
