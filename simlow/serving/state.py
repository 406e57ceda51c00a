"""The record of one serving run: per-request progress and token times, per-step series.

Every engine loop (``vllm``, ``static``, ``llamacpp``) drives one ``Run``: it moves arrived
requests into its queue (``arrive``), runs forward steps through the step cost
(``forward``: advances the clock, records the step) and reports tokens produced at the
end of a step (``emit``: first-token time, inter-token gaps, completion). A closed-loop
workload issues a client's next request when one finishes. Token conservation is checked
here: a request emitting past its output length is an error, not a silent extra token.
"""

from __future__ import annotations

import numpy as np

from simlow.errors import SimlowError

# the reductions of ``ndarray.sum/min/any`` without their Python wrappers
_sum, _min, _any = np.add.reduce, np.minimum.reduce, np.logical_or.reduce


def split(n: np.ndarray, L: np.ndarray, size: int):
    """Cut a batch's parts (``n`` new tokens on ``L`` cached each, in order) into forward
    steps of at most ``size`` tokens (llama.cpp's ubatches; a static engine's context
    chunks): yields ``(index, n, L)`` of the parts each step holds."""
    cum = np.cumsum(n)
    start = cum - n
    for a in range(0, int(cum[-1]), size):
        b = a + size
        take = np.minimum(cum, b) - np.maximum(start, a)
        idx = np.nonzero(take > 0)[0]
        yield idx, take[idx], L[idx] + np.maximum(a - start[idx], 0)


class Run:
    """Mutable state of one simulation (owned by one engine loop)."""

    def __init__(self, wl, cost):
        self.wl, self.cost = wl, cost
        n = wl.n
        self.arrival = wl.arrival_s.astype(np.float64).copy()
        self.prompt, self.out = wl.prompt, wl.output
        self.gen = np.zeros(n, dtype=np.int64)
        self.comp = np.zeros(n, dtype=np.int64)
        self.first = np.full(n, np.nan)
        self.last = np.full(n, np.nan)
        self.finish = np.full(n, np.nan)
        self.itl: list[np.ndarray] = []
        self.tokens = (wl.prompt + 0).astype(np.int64)   # prompt + generated so far
        # per step: (start s, seconds, at-peak compute s, at-peak memory s, bytes, parts, tokens);
        # per scheduler iteration: (time s, running requests, KV occupancy 0..1). Single steps
        # are rows, decode windows arrays; ``step_table`` / ``series_table`` join them.
        self._steps: list = []
        self._step_blocks: list[tuple] = []           # (starts, (4, k) costs, sizes) of a window
        self._series: list = []
        self._series_blocks: list[tuple] = []         # (starts, running, occupancy) of a window
        self.now = 0.0
        self.next = 0                  # next request not yet queued
        self.done = 0
        self.emitted = 0
        self.computed_tokens = 0
        self.preemptions = 0
        self.prefix_hit_tokens = 0
        self.issued = min(wl.concurrency, n) if wl.concurrency else n

    @property
    def n(self) -> int:
        return self.wl.n

    @property
    def finished(self) -> bool:
        return self.done == self.n

    def arrive(self, queue) -> None:
        """Queue every request that has arrived by now."""
        while self.next < self.issued and self.arrival[self.next] <= self.now:
            queue.append(self.next)
            self.next += 1

    def idle_until_next(self) -> None:
        """Nothing to run: jump the clock to the next arrival."""
        if self.next >= self.issued:
            raise SimlowError("internal: the server is idle with requests outstanding and none to arrive")
        self.now = max(self.now, float(self.arrival[self.next]))

    def forward(self, n: np.ndarray, L: np.ndarray, T: int | None = None) -> float:
        """One forward step of parts ``n`` on ``L`` cached tokens (``T = sum(n)`` if known)."""
        T = int(_sum(n)) if T is None else T
        t, ic, fl, nb = self.cost.step(n, L, T)
        self._steps.append((self.now, t, ic, fl, nb, len(n), T))
        self.computed_tokens += T
        self.now += t
        return t

    def decode_window(self, r: np.ndarray, left: np.ndarray, k: int, until: float = np.inf,
                      L: np.ndarray | None = None, lo: int | None = None):
        """Run up to ``k`` decode steps of batch ``r`` at once: request ``i`` adds one token
        per step for ``left[i]`` steps (then it has finished and leaves the batch), and no step
        starts at or after ``until`` (an arrival the scheduler must see). Records every step
        and token as single steps would. Returns the steps run (at least 1), the steps each
        request took and the start time of every step. ``L`` / ``lo`` (optional): the
        batch's computed tokens and ``left.min()``, when the caller has them."""
        L = self.comp[r] if L is None else L
        lo = int(_min(left)) if lo is None else lo
        alive = None if lo >= k else np.arange(k)[:, None] < left
        c, sizes = self.cost.decode_steps(L, k, alive)
        starts = np.empty(k)
        starts[0] = 0.0
        c[0][:-1].cumsum(out=starts[1:])
        starts += self.now
        if until != np.inf:
            k = max(1, int(starts.searchsorted(until, side="left")))
            c, starts, sizes = c[:, :k], starts[:k], sizes[:k]
        ends = starts + c[0]
        self._step_blocks.append((starts, c, sizes))
        took = np.minimum(left, k)
        g = self.gen[r]
        if _min(g) < 1 or _any(g + took > self.out[r]):
            raise SimlowError("internal: a decode window past a request's output length")
        self.computed_tokens += int(_sum(sizes))
        self.comp[r] = L + took
        self.itl.append(ends[0] - self.last[r])
        if k > 1:
            self.itl.append(np.repeat(c[0][1:], sizes[1:]))
        self.gen[r] = g + took
        self.tokens[r] += took
        self.emitted += int(_sum(took))
        last = ends[took - 1]
        self.last[r] = last
        fin = took == left
        done = r[fin]
        self.finish[done] = last[fin]
        self.done += done.size
        self.now = float(ends[-1])
        self._issue(done.size)
        return k, took, starts

    def sample_window(self, starts: np.ndarray, running, occupancy: np.ndarray) -> None:
        """The series samples of a window's steps (``running``: an array or one count)."""
        self._series_blocks.append((starts, running, occupancy))

    def _issue(self, finished: int) -> None:
        if self.wl.concurrency:                 # closed loop: each finish sends the next request
            for _ in range(finished):
                if self.issued < self.n:
                    self.arrival[self.issued] = self.now
                    self.issued += 1

    def sample(self, running: int, occupancy: float) -> None:
        self._series.append((self.now, running, occupancy))

    @staticmethod
    def _table(rows: list, block: np.ndarray | None, width: int) -> np.ndarray:
        parts = [np.array(rows, dtype=np.float64).reshape(-1, width)] + ([] if block is None else [block])
        a = np.concatenate(parts)
        return a[np.argsort(a[:, 0], kind="stable")]

    def step_table(self) -> np.ndarray:
        """Every forward step in time order, columns as ``forward`` records them: start s,
        seconds, at-peak compute s, ops, bytes, requests, tokens."""
        block = None
        if self._step_blocks:
            starts, c, sizes = zip(*self._step_blocks)
            block = np.empty((sum(len(x) for x in starts), 7))
            block[:, 0], block[:, 1:5] = np.concatenate(starts), np.concatenate(c, axis=1).T
            block[:, 5] = block[:, 6] = np.concatenate(sizes)
        return self._table(self._steps, block, 7)

    def series_table(self) -> np.ndarray:
        block = None
        if self._series_blocks:
            starts, running, occupancy = zip(*self._series_blocks)
            block = np.empty((sum(len(x) for x in starts), 3))
            block[:, 0], block[:, 2] = np.concatenate(starts), np.concatenate(occupancy)
            block[:, 1] = np.concatenate([x if isinstance(x, np.ndarray) else np.full(len(s), float(x))
                                          for x, s in zip(running, starts)])
        return self._table(self._series, block, 3)

    def emit(self, rids: np.ndarray) -> np.ndarray:
        """Requests ``rids`` each produce one token now; returns those that finished."""
        if rids.size == 0:
            return rids
        g = self.gen[rids]
        left = self.out[rids] - g
        if _min(left) < 1:
            raise SimlowError("internal: a request produced more tokens than its output length")
        self.gen[rids] = g + 1
        self.tokens[rids] += 1
        self.emitted += rids.size
        fresh = g == 0
        if _any(fresh):
            self.first[rids[fresh]] = self.now
            old = rids[~fresh]
        else:
            old = rids
        if old.size:
            self.itl.append(self.now - self.last[old])
        self.last[rids] = self.now
        done = rids[left == 1]
        self.finish[done] = self.now
        self.done += done.size
        self._issue(done.size)
        return done
