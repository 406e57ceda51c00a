"""Expert cache policies: which (layer, expert) weights sit in device memory.

A cache holds ``slots`` experts (each slot one expert's gate, up and down weights of one
layer). ``access(layer, experts)`` takes the distinct experts one layer's routed tokens
need in one step and returns, per expert, whether it was a hit; it then updates the
contents by the policy:

* ``lru``: admit every miss, evicting the least recently used (ties: lowest key).
* ``lfu``: admit every miss, evicting the least frequently used, counting every access
  since the start ("perfect" LFU; ties: least recently used, then lowest key).
* ``static``: the hottest ``slots`` experts by the routing's inclusion probability, fixed
  for the whole run and never replaced (Luce Spark's "count which experts get used, keep the
  top N% on the GPU"; here the counts are the routing distribution itself). Misses are
  streamed through a staging buffer and not kept.

LRU and LFU start empty (cold); the static set is filled before the run. Deterministic:
no randomness here (the draws come from ``experts``).
"""

from __future__ import annotations

from dataclasses import dataclass

import heapq
from collections import OrderedDict

import numpy as np

from simlow.errors import SimlowError
from simlow.sim.offload_spec import POLICIES



@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class ExpertCache:
    def __init__(self, policy: str, slots: int, inclusion: np.ndarray | None = None, layers: tuple[int, ...] = ()):
        if policy not in POLICIES:
            raise SimlowError(f"unknown expert cache policy {policy!r} (valid: {', '.join(POLICIES)})")
        if slots < 0:
            raise SimlowError(f"expert cache slots must be >= 0, got {slots}")
        self.policy, self.slots = policy, slots
        self.stats = CacheStats()
        self._clock = 0
        self._last: dict[tuple[int, int], int] = {}
        self._freq: dict[tuple[int, int], int] = {}
        self._held: set[tuple[int, int]] = set()
        self._lru: OrderedDict = OrderedDict()          # held keys, least recent first
        self._heap: list[tuple[int, int, tuple[int, int]]] = []   # (freq, last, key), lazy
        if policy == "static":
            if inclusion is None or not layers:
                raise SimlowError("a static expert cache needs the routing's inclusion probabilities and the MoE layers")
            order = sorted(((-float(inclusion[e]), layer, e) for layer in layers for e in range(len(inclusion))))
            self._held = {(layer, e) for _, layer, e in order[:slots]}

    def access(self, layer: int, experts) -> list[bool]:
        out = []
        for e in experts:
            key = (layer, int(e))
            self._clock += 1
            hit = key in self._held
            out.append(hit)
            self._freq[key] = self._freq.get(key, 0) + 1
            self._last[key] = self._clock
            if hit:
                self.stats.hits += 1
                self._touch(key)
                continue
            self.stats.misses += 1
            if self.policy != "static" and self.slots > 0:
                if len(self._held) >= self.slots:
                    self._held.discard(self._evict())
                self._held.add(key)
                self._touch(key)
        return out

    def _touch(self, key) -> None:
        if self.policy == "lru":
            self._lru[key] = None
            self._lru.move_to_end(key)
        elif self.policy == "lfu":
            heapq.heappush(self._heap, (self._freq[key], self._last[key], key))

    def _evict(self):
        """The victim: least recent (lru) or least frequent, then least recent (lfu)."""
        if self.policy == "lru":
            return self._lru.popitem(last=False)[0]
        while True:
            freq, last, key = heapq.heappop(self._heap)
            if key in self._held and freq == self._freq[key] and last == self._last[key]:
                return key
