"""Expert cache policies: which (layer, expert) weights sit in device memory.

A cache holds ``slots`` experts (each slot one expert's gate, up and down weights of one
layer). ``access(layer, experts)`` takes the distinct experts one layer's routed tokens
need in one step and returns, per expert, whether it was a hit; it then updates the
contents by the policy, one class each behind the ``ExpertCache`` protocol
(``expert_cache`` builds the one a ``CachePolicy`` names):

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

import heapq
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Protocol

import numpy as np

from simlow.errors import SimlowError
from simlow.sim.offload_spec import CachePolicy, cache_policy

Key = tuple[int, int]     # (layer, expert)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class ExpertCache(Protocol):
    stats: CacheStats

    def access(self, layer: int, experts: Iterable) -> list[bool]: ...


class _Admitting:
    """A cache that admits every miss, evicting by ``_victim`` when full (LRU, LFU)."""

    def __init__(self, slots: int):
        self.slots, self.stats = slots, CacheStats()
        self._clock = 0
        self._held: set[Key] = set()

    def access(self, layer: int, experts: Iterable) -> list[bool]:
        out = []
        for e in experts:
            key = (layer, int(e))
            self._clock += 1
            hit = key in self._held
            out.append(hit)
            self._seen(key)
            if hit:
                self.stats.hits += 1
                continue
            self.stats.misses += 1
            if self.slots > 0:
                if len(self._held) >= self.slots:
                    self._held.discard(self._victim())
                self._held.add(key)
                self._admitted(key)
        return out

    def _seen(self, key: Key) -> None:
        raise NotImplementedError

    def _admitted(self, key: Key) -> None:
        pass

    def _victim(self) -> Key:
        raise NotImplementedError


class LruCache(_Admitting):
    """Evicts the least recently used (module docstring)."""

    def __init__(self, slots: int):
        super().__init__(slots)
        self._order: OrderedDict = OrderedDict()          # held keys, least recent first

    def _seen(self, key: Key) -> None:
        if key in self._held:
            self._order.move_to_end(key)

    def _admitted(self, key: Key) -> None:
        self._order[key] = None

    def _victim(self) -> Key:
        return self._order.popitem(last=False)[0]


class LfuCache(_Admitting):
    """Evicts the least frequently used, then the least recent (module docstring)."""

    def __init__(self, slots: int):
        super().__init__(slots)
        self._freq: dict[Key, int] = {}
        self._last: dict[Key, int] = {}
        self._heap: list[tuple[int, int, Key]] = []      # (freq, last, key), stale entries skipped

    def _seen(self, key: Key) -> None:
        self._freq[key] = self._freq.get(key, 0) + 1
        self._last[key] = self._clock
        if key in self._held:
            self._admitted(key)

    def _admitted(self, key: Key) -> None:
        heapq.heappush(self._heap, (self._freq[key], self._last[key], key))

    def _victim(self) -> Key:
        while True:
            freq, last, key = heapq.heappop(self._heap)
            if key in self._held and freq == self._freq[key] and last == self._last[key]:
                return key


class StaticCache:
    """The hottest ``slots`` experts by inclusion probability, fixed; misses are not kept."""

    def __init__(self, slots: int, inclusion: np.ndarray | None, layers: tuple[int, ...]):
        if inclusion is None or not layers:
            raise SimlowError("a static expert cache needs the routing's inclusion probabilities and the MoE layers")
        order = sorted((-float(inclusion[e]), layer, e) for layer in layers for e in range(len(inclusion)))
        self._held = {(layer, e) for _, layer, e in order[:slots]}
        self.stats = CacheStats()

    def access(self, layer: int, experts: Iterable) -> list[bool]:
        out = [(layer, int(e)) in self._held for e in experts]
        self.stats.hits += sum(out)
        self.stats.misses += len(out) - sum(out)
        return out


def expert_cache(policy: CachePolicy | str, slots: int, inclusion: np.ndarray | None = None,
                 layers: tuple[int, ...] = ()) -> ExpertCache:
    """The cache ``policy`` names, holding ``slots`` experts."""
    policy = cache_policy(policy)
    if slots < 0:
        raise SimlowError(f"expert cache slots must be >= 0, got {slots}")
    if policy is CachePolicy.STATIC:
        return StaticCache(slots, inclusion, layers)
    return LruCache(slots) if policy is CachePolicy.LRU else LfuCache(slots)
