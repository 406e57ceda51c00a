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

# the reductions of ``ndarray.sum/min/max/any`` without their Python wrappers
_sum, _min, _max, _any = np.add.reduce, np.minimum.reduce, np.maximum.reduce, np.logical_or.reduce

from simlow.errors import SimlowError
from simlow.serving.kv import BlockPool, KvCacheTooSmall


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
        self.pool = BlockPool(cfg.blocks)
        self.waiting: deque = deque()
        self.running = np.empty(0, dtype=np.int64)
        self.held = np.zeros(run.n, dtype=np.int64)
        self.refs: dict[int, list] = {}                  # request -> cache groups it pins
        self.grouped = np.zeros(run.n, dtype=np.int64)   # of its held blocks, those in groups
        need = _ceil_div(run.prompt + run.out - 1, cfg.block_size)
        worst = int(np.argmax(need))
        if need[worst] > cfg.blocks:
            raise KvCacheTooSmall(f"request {worst} ({run.prompt[worst]} + {run.out[worst]} tokens) needs "
                              f"{need[worst]} KV blocks of {cfg.block_size} tokens; the cache has {cfg.blocks}")

    # -- prefix caching ----------------------------------------------------------------
    def _groups(self, rid: int) -> list[tuple[int, int]]:
        """(cache group, full prompt blocks in it) in prompt order: the shared prefix's
        blocks under its prefix id (>= 0), the rest under the request (< 0)."""
        bs, wl = self.cfg.block_size, self.run.wl
        full = int(self.run.prompt[rid]) // bs
        pid = int(wl.prefix_id[rid])
        shared = min(int(wl.prefix_len[rid]) // bs, full) if pid >= 0 else 0
        out = [(pid, shared)] if shared else []
        return out + [(-1 - rid, full - shared)] if full > shared else out

    def _hits(self, rid: int, cap: int) -> tuple[list, int, int]:
        """Leading cached blocks of ``rid``'s prompt, at most ``cap``: ([(group, blocks)],
        blocks, of them released ones)."""
        pool, out, total, released = self.pool, [], 0, 0
        for key, nb in self._groups(rid):
            use = min(pool.cached(key), nb, cap - total)
            if use <= 0:
                break
            out.append((key, use))
            released += pool.released_blocks(key, use)
            total += use
            if use < nb:
                break
        return out, total, released

    def _register(self, rid: int, computed: int) -> None:
        """``rid`` has computed ``computed`` tokens of its prompt: its full blocks among them
        become cached (vLLM v1's ``allocate_slots`` caches a chunk's full blocks as it
        schedules them, so a request preempted mid-prefill finds its earlier chunks)."""
        refs = self.refs.setdefault(rid, [])
        left = computed // self.cfg.block_size
        for key, nb in self._groups(rid):
            nb = min(nb, left)
            if nb <= 0:
                break
            left -= nb
            pinned = key in refs
            got = self.pool.extend(key, nb, pinned)
            if got and not pinned:
                refs.append(key)
            self.grouped[rid] += got

    def _free(self, rid: int) -> None:
        self.pool.release(self.refs.pop(rid, ()), int(self.held[rid] - self.grouped[rid]))
        self.held[rid] = self.grouped[rid] = 0

    # -- one step ----------------------------------------------------------------------
    def _running_fast(self, budget: int):
        """The running pass when every allocation fits (the common case), else None."""
        r, run, bs = self.running, self.run, self.cfg.block_size
        L = run.comp[r]
        need = run.tokens[r] - L
        thr = self.cfg.long_prefill_token_threshold
        if thr > 0:
            need = np.minimum(need, thr)
        T = int(_sum(need))
        if T > budget:
            n = np.clip(budget - (np.cumsum(need) - need), 0, need)
            T = int(_sum(n))
        else:
            n = need
        held = self.held[r]
        blocks = (L + n + (bs - 1)) // bs - held
        np.maximum(blocks, 0, out=blocks)
        total = int(_sum(blocks))
        if total > self.pool.free:
            return None
        self.pool.take(total)
        self.held[r] = held + blocks
        if n is need:
            return r, n, L, budget - T
        keep = n > 0
        return r[keep], n[keep], L[keep], budget - T

    def _running_preempting(self, budget: int):
        """The running pass request by request, preempting the newest when blocks run out."""
        run, bs, thr = self.run, self.cfg.block_size, self.cfg.long_prefill_token_threshold
        order = list(self.running)
        out_r, out_n, out_L = [], [], []
        i = 0
        while i < len(order) and budget > 0:
            rid = order[i]
            n = int(run.tokens[rid] - run.comp[rid])
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
            tokens = int(run.tokens[rid])
            hits, hb, released = [], 0, 0
            if cfg.prefix_caching:
                hits, hb, released = self._hits(rid, (tokens - 1) // bs)
            n = tokens - hb * bs
            n = min(n, thr) if thr > 0 else n
            n = min(n, budget)
            blocks = _ceil_div(hb * bs + n, bs) - hb
            if blocks + released > pool.free:
                break
            self.waiting.popleft()
            for key, use in hits:
                pool.pin(key, use)
            pool.take(blocks)
            self.refs[rid] = [key for key, _ in hits]
            self.grouped[rid] = hb
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
                budget -= sum(an)
                ar = np.array(ar, dtype=np.int64)
                self.running = np.concatenate((self.running, ar))
                if r.size:
                    r, n, L = np.concatenate((r, ar)), np.concatenate((n, an)), np.concatenate((L, aL))
                else:
                    r, n, L = ar, np.array(an, dtype=np.int64), np.array(aL, dtype=np.int64)
        if r.size == 0:
            if self.waiting and not self.running.size:
                rid = self.waiting[0]
                raise SimlowError(f"request {rid} cannot be scheduled: its first chunk needs more KV blocks "
                                  f"than the {self.cfg.blocks} in the cache")
            return False
        T = self.cfg.max_num_batched_tokens - budget      # the tokens scheduled: sum(n)
        if (self.cfg.decode_windows and run.preemptions == preempts and not admitted
                and r.size == self.running.size and self._all_decode(r, T, L)):
            self._window(r)
            return True
        run.sample(len(self.running), self.pool.used / self.pool.total)
        run.forward(n, L, T)
        self._after(r, n, L)
        return True

    def _all_decode(self, r, T: int, L) -> bool:
        return len(r) == T and bool(np.logical_and.reduce(L >= self.run.prompt[r]))

    def _window(self, r: np.ndarray) -> None:
        """Decode steps of the same batch at once (module docstring); step 0's blocks are
        already allocated. With an empty queue and open-loop arrivals, finished requests
        leave the batch inside the window (their blocks are freed step by step, as they
        would be); otherwise the window ends at the first finish. The block check ignores
        blocks freed inside the window, so it can only stop a window early, never let it run
        a step the pool would refuse."""
        run, bs, pool = self.run, self.cfg.block_size, self.pool
        left = run.out[r] - run.gen[r]
        lo = int(_min(left))
        shrink = not self.waiting and not run.wl.concurrency
        k = int(min(int(_max(left)) if shrink else lo, 256))
        until = np.inf
        if not self.waiting and run.next < run.issued:
            until = float(run.arrival[run.next])
            # a step of the full batch lasts at least its dense ops: about this many start
            # before ``until`` (a window may always stop early: the next iteration goes on)
            k = min(k, int((until - run.now) / run.cost.min_step_s(len(r))) + 1)
        L, held = run.comp[r], self.held[r]
        steps = np.arange(k)[:, None]
        extra = (L + bs - held * bs + steps) // bs         # ceil((L + j + 1) / bs) - held
        np.maximum(extra, 0, out=extra)
        if shrink and lo < k:
            extra = np.where(steps < left, extra, extra[np.minimum(left, k) - 1, np.arange(len(r))])
        need = _sum(extra, axis=1)
        k = max(1, int(need.searchsorted(pool.free, side="right")))
        k, took, starts = run.decode_window(r, left, k, until, L, lo)
        self._window_pool(r, held, extra[:k], need[:k], took, took == left, starts, k)

    def _window_pool(self, r, held, extra, need, took, fin_mask, starts, k) -> None:
        """The pool operations of a window's steps in their order: step ``j`` allocates
        its new blocks (``need[j]`` the window's total by then), then the requests
        finishing at ``j`` (``fin_mask``: the requests that finished) free theirs."""
        run, pool = self.run, self.pool
        self.held[r] = held + extra[took - 1, np.arange(len(r))]
        if not _any(fin_mask):        # nobody leaves: one allocation, the batch constant
            used = pool.used
            pool.take(int(need[-1]))
            run.sample_window(starts, len(r), (used + need) / pool.total)
            return
        fin = took[fin_mask]
        finish_at = np.where(fin_mask, took - 1, -1)
        occupancy, running = np.empty(k), np.empty(k)
        alive, j0, base = len(r), 0, 0
        ends = sorted(set((fin - 1).tolist()))
        for j1 in ends + ([k - 1] if ends[-1] != k - 1 else []):
            seg = need[j0:j1 + 1] - base
            occupancy[j0:j1 + 1] = (pool.used + seg) / pool.total
            running[j0:j1 + 1] = alive
            pool.take(int(seg[-1]))
            base = int(need[j1])
            for rid in r[finish_at == j1].tolist():
                self._free(rid)
                alive -= 1
            j0 = j1 + 1
        run.sample_window(starts, running, occupancy)
        rr = self.running
        self.running = rr[run.gen[rr] < run.out[rr]]

    def _after(self, r: np.ndarray, n: np.ndarray, before: np.ndarray) -> None:
        """The end of a step of parts ``n`` on ``before = run.comp[r]`` cached tokens."""
        run = self.run
        after = before + n
        run.comp[r] = after
        if self.cfg.prefix_caching:
            p = run.prompt[r]
            pre = before < p
            for rid, c in zip(r[pre].tolist(), np.minimum(after, p)[pre].tolist()):
                self._register(rid, c)
        emits = r[after == run.tokens[r]]
        done = run.emit(emits)
        if done.size:
            for rid in done.tolist():
                self._free(rid)
            r = self.running
            self.running = r[self.run.gen[r] < self.run.out[r]]


def run_vllm(run, cfg: VllmConfig) -> None:
    s = VllmScheduler(run, cfg)
    while not run.finished:
        if not s.step():
            run.idle_until_next()
