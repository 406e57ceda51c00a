"""llama.cpp's server: ``n_parallel`` slots, each holding one sequence, continuous batching.

Follows the server's loop as ``tools/server/server.cpp`` (``update_slots``) and its README
describe it for 2025 builds; no llama.cpp commit was read for this module, so the order of
tokens within a batch below is that description, not a line-by-line reading.

Each iteration, free slots take requests from the head of the queue; the batch then holds
one token of every generating slot (first), then prompt tokens of slots still processing
their prompt, slot by slot, up to ``n_batch`` tokens. ``llama_decode`` runs the batch as
forward steps of at most ``n_ubatch`` tokens (the stack's ``ubatch``); the tokens sampled
appear when the whole batch is done. The KV cache is one fixed buffer sized for every slot
at the longest request (no paging, no preemption); occupancy is the tokens held over that.
Not modelled: the server's prompt cache (``cache_prompt`` reuse of a slot's previous prompt).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from simlow.serving.state import split


@dataclass(frozen=True)
class SlotsConfig:
    slots: int
    n_batch: int
    n_ubatch: int


def run_llamacpp(run, cfg: SlotsConfig) -> None:
    queue: deque = deque()
    active: list[int] = []
    capacity = cfg.slots * int((run.prompt + run.out).max())
    while not run.finished:
        run.arrive(queue)
        while queue and len(active) < cfg.slots:
            active.append(queue.popleft())
        if not active:
            run.idle_until_next()
            continue
        a = np.array(active, dtype=np.int64)
        need = run.tokens[a] - run.comp[a]
        dec = need == 1
        dec &= run.comp[a] >= run.prompt[a]
        order = np.concatenate((a[dec], a[~dec]))
        want = np.concatenate((need[dec], need[~dec]))
        n = np.clip(cfg.n_batch - (np.cumsum(want) - want), 0, want)
        keep = n > 0
        r, n = order[keep], n[keep]
        L = run.comp[r]
        run.sample(len(active), float(run.comp[a].sum()) / capacity)
        for idx, nu, Lu in split(n, L, cfg.n_ubatch):
            run.forward(nu, Lu)
        run.comp[r] = L + n
        done = run.emit(r[run.comp[r] == run.tokens[r]])
        if done.size:
            gone = set(done.tolist())
            active = [x for x in active if x not in gone]
