"""vLLM v1's scheduler, request by request (``vllm/v1/core/sched/scheduler.py``,
``Scheduler.schedule``, vLLM main at commit 00024d314514900f361ad072af6931e403b7f589;
the FCFS policy, no speculative decoding, no KV connector, synchronous scheduling).

Each step, with a token budget of ``max_num_batched_tokens``:

1. **Running requests first**, in order: each asks for ``num_tokens - num_computed_tokens``
   tokens (1 for a decode, the rest of the prompt for a chunked prefill, capped at
   ``long_prefill_token_threshold`` when that is > 0) and gets at most the budget left; a
   request that would get 0 is skipped. Its KV blocks are allocated; when the pool runs
   out, the **newest running request is preempted** (``running.pop()``): its blocks are
   freed, its computed tokens reset to 0 (recompute; v1 does not swap) and it goes to the
   head of the waiting queue; if the request being scheduled was itself the newest, it is
   preempted and the running pass stops.
2. **Then admission** from the waiting queue (only when nothing was preempted this step),
   while budget remains and fewer than ``max_num_seqs`` requests run: the head request's
   cached prefix (prefix caching: leading full prompt blocks already cached, at most
   ``num_tokens - 1`` tokens) counts as computed; it is scheduled for the rest (threshold
   and budget applied, chunked prefill always on in v1) if its blocks fit, else admission
   stops.

Tokens appear at the end of the step for every request whose computed tokens reach its
token count (the end of its prompt, or a decode); a request finishes at its output length.

Speed: when a step is decode-only, schedules every running request, preempts and admits
nothing, the following steps repeat it with contexts one longer, until a request finishes,
the KV pool would run out or (with an empty queue) a request arrives; admission stays
blocked in between (the running count, the budget and the free blocks only move against
it). Such a stretch is costed in one NumPy evaluation (``StepCost.decode_steps``) and
recorded step by step, with the same result as stepping (tested).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from simlow.errors import SimlowError
from simlow.serving.kv import BlockPool


@dataclass(frozen=True)
class VllmConfig:
    max_num_seqs: int
    max_num_batched_tokens: int
    block_size: int
    blocks: int
    prefix_caching: bool = True
    long_prefill_token_threshold: int = 0
    decode_windows: bool = True     # run stretches of identical decode steps at once (same result)


def _ceil_div(a, b):
    return -(-a // b)


class VllmScheduler:
    def __init__(self, run, cfg: VllmConfig):
        self.run, self.cfg = run, cfg
        self.pool = BlockPool(cfg.blocks, cfg.prefix_caching)
        self.waiting: deque = deque()
        self.running = np.empty(0, dtype=np.int64)
        self.held = np.zeros(run.n, dtype=np.int64)
        self.refs: dict[int, list] = {}
        self.hits = np.zeros(run.n, dtype=np.int64)   # blocks taken from the cache at admission
        need = _ceil_div(run.prompt + run.out - 1, cfg.block_size)
        worst = int(np.argmax(need))
        if need[worst] > cfg.blocks:
            raise SimlowError(f"request {worst} ({run.prompt[worst]} + {run.out[worst]} tokens) needs "
                              f"{need[worst]} KV blocks of {cfg.block_size} tokens; the cache has {cfg.blocks}")

    # -- prefix hashes -----------------------------------------------------------------
    def _hashes(self, rid: int) -> list:
        bs, wl = self.cfg.block_size, self.run.wl
        pid, plen = int(wl.prefix_id[rid]), int(wl.prefix_len[rid])
        return [(pid, j) if pid >= 0 and (j + 1) * bs <= plen else (-1 - rid, j)
                for j in range(int(self.run.prompt[rid]) // bs)]

    def _free(self, rid: int) -> None:
        refs = self.refs.pop(rid, [])
        self.pool.release(refs, int(self.held[rid]) - len(refs))
        self.held[rid] = 0

    # -- one step ----------------------------------------------------------------------
    def _running_fast(self, budget: int):
        """The running pass when every allocation fits (the common case), else None."""
        r, run, bs = self.running, self.run, self.cfg.block_size
        need = run.prompt[r] + run.gen[r] - run.comp[r]
        thr = self.cfg.long_prefill_token_threshold
        if thr > 0:
            need = np.minimum(need, thr)
        n = np.clip(budget - (np.cumsum(need) - need), 0, need)
        L = run.comp[r]
        blocks = np.where(n > 0, np.maximum(_ceil_div(L + n, bs) - self.held[r], 0), 0)
        total = int(blocks.sum())
        if total > self.pool.free:
            return None
        self.pool.take(total)
        self.held[r] += blocks
        keep = n > 0
        return r[keep], n[keep], L[keep], budget - int(n.sum())

    def _running_preempting(self, budget: int):
        """The running pass request by request, preempting the newest when blocks run out."""
        run, bs, thr = self.run, self.cfg.block_size, self.cfg.long_prefill_token_threshold
        order = list(self.running)
        out_r, out_n, out_L = [], [], []
        i = 0
        while i < len(order) and budget > 0:
            rid = order[i]
            n = int(run.prompt[rid] + run.gen[rid] - run.comp[rid])
            n = min(n, thr) if thr > 0 else n
            n = min(n, budget)
            if n == 0:
                i += 1
                continue
            blocks = max(_ceil_div(int(run.comp[rid]) + n, bs) - int(self.held[rid]), 0)
            victim = None
            while blocks > self.pool.free:
                victim = order.pop()
                self._free(victim)
                run.comp[victim] = 0
                self.waiting.appendleft(victim)
                run.preemptions += 1
                if victim == rid:
                    break
            if victim == rid:
                break
            self.pool.take(blocks)
            self.held[rid] += blocks
            out_r.append(rid), out_n.append(n), out_L.append(int(run.comp[rid]))
            budget -= n
            i += 1
        self.running = np.array(order, dtype=np.int64)
        arr = (np.array(x, dtype=np.int64) for x in (out_r, out_n, out_L))
        return (*arr, budget)

    def _admit(self, budget: int):
        run, cfg, pool, bs = self.run, self.cfg, self.pool, self.cfg.block_size
        thr = cfg.long_prefill_token_threshold
        adm_r, adm_n, adm_L = [], [], []
        while self.waiting and budget > 0 and len(self.running) + len(adm_r) < cfg.max_num_seqs:
            rid = self.waiting[0]
            tokens = int(run.prompt[rid] + run.gen[rid])
            hb = released = 0
            hashes = ()
            if cfg.prefix_caching:
                hashes = self._hashes(rid)[:(tokens - 1) // bs]
                hb, released = pool.hits(hashes)
            n = tokens - hb * bs
            n = min(n, thr) if thr > 0 else n
            n = min(n, budget)
            blocks = _ceil_div(hb * bs + n, bs) - hb
            if blocks + released > pool.free:
                break
            self.waiting.popleft()
            pool.pin(hashes[:hb])
            pool.take(blocks)
            self.refs[rid] = list(hashes[:hb])
            self.hits[rid] = hb
            self.held[rid] = hb + blocks
            run.comp[rid] = hb * bs
            run.prefix_hit_tokens += hb * bs
            adm_r.append(rid), adm_n.append(n), adm_L.append(hb * bs)
            budget -= n
        return adm_r, adm_n, adm_L

    def step(self) -> bool:
        """One scheduler iteration; False when there was nothing to run."""
        run = self.run
        run.arrive(self.waiting)
        budget = self.cfg.max_num_batched_tokens
        preempts = run.preemptions
        if self.running.size:
            got = self._running_fast(budget)
            r, n, L, budget = got if got is not None else self._running_preempting(budget)
        else:
            r = n = L = np.empty(0, dtype=np.int64)
        admitted = False
        if run.preemptions == preempts:
            ar, an, aL = self._admit(budget)
            if ar:
                admitted = True
                self.running = np.concatenate((self.running, np.array(ar, dtype=np.int64)))
                r, n, L = (np.concatenate((x, np.array(y, dtype=np.int64))) for x, y in ((r, ar), (n, an), (L, aL)))
        if r.size == 0:
            if self.waiting and not self.running.size:
                rid = self.waiting[0]
                raise SimlowError(f"request {rid} cannot be scheduled: its first chunk needs more KV blocks "
                                  f"than the {self.cfg.blocks} in the cache")
            return False
        if (self.cfg.decode_windows and run.preemptions == preempts and not admitted
                and r.size == self.running.size and self._all_decode(r, n)):
            self._window(r)
            return True
        run.sample(len(self.running), self.pool.used / self.pool.total)
        run.forward(n, L)
        self._after(r, n)
        return True

    def _all_decode(self, r, n) -> bool:
        run = self.run
        return bool(np.all(n == 1)) and bool(np.all(run.comp[r] >= run.prompt[r]))

    def _window(self, r: np.ndarray) -> None:
        """Decode steps of the same batch at once (module docstring); step 0's blocks are
        already allocated."""
        run, bs, pool = self.run, self.cfg.block_size, self.pool
        k = int(min(int((run.out[r] - run.gen[r]).min()), 256))
        L, held = run.comp[r], self.held[r]
        ctx = L[None, :] + np.arange(k)[:, None] + 1
        extra = np.maximum(_ceil_div(ctx, bs) - held[None, :], 0).sum(axis=1)
        k = max(1, int(np.searchsorted(extra, pool.free, side="right")))
        occupancy = (pool.used + extra[:k]) / pool.total
        until = np.inf
        if not self.waiting and run.next < run.issued:
            until = float(run.arrival[run.next])
        k, done = run.decode_window(r, k, occupancy, until)
        need = np.maximum(_ceil_div(L + k, bs) - held, 0)
        pool.take(int(need.sum()))
        self.held[r] = held + need
        if done.size:
            for rid in done:
                self._free(int(rid))
            self.running = self.running[~np.isin(self.running, done)]

    def _after(self, r: np.ndarray, n: np.ndarray) -> None:
        run = self.run
        before = run.comp[r]
        run.comp[r] = before + n
        if self.cfg.prefix_caching:
            p = run.prompt[r]
            for rid in r[(before < p) & (before + n >= p)]:
                rid = int(rid)
                fresh = self._hashes(rid)[int(self.hits[rid]):]
                self.refs.setdefault(rid, []).extend(self.pool.register(fresh))
        emits = r[run.comp[r] == run.prompt[r] + run.gen[r]]
        done = run.emit(emits)
        if done.size:
            for rid in done:
                self._free(int(rid))
            self.running = self.running[~np.isin(self.running, done)]


def run_vllm(run, cfg: VllmConfig) -> None:
    s = VllmScheduler(run, cfg)
    while not run.finished:
        if not s.step():
            run.idle_until_next()
