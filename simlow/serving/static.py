"""A static-batch engine: TensorRT-LLM's classic behaviour before in-flight batching
(``GptSession``, TensorRT-LLM 0.x), as its documentation describes static batching; no
TensorRT-LLM source was read for this module.

When the engine is free it forms a batch from the head of the queue: up to
``max_batch_size`` requests whose KV cache, reserved whole for prompt + output tokens
(``ceil((prompt + output) / block_size)`` blocks each), fits the pool. The batch's prompts
run packed (no padding: ``remove_input_padding``) in context steps of at most
``max_num_tokens`` tokens; every request's first token appears when the context phase
ends. Then the whole batch decodes one token per step until its longest request is done:
a request that finished early still occupies its slot and is computed (masked) each step,
and no new request joins until the batch completes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from simlow.errors import SimlowError
from simlow.serving.kv import KvCacheTooSmall
from simlow.serving.state import split


@dataclass(frozen=True)
class StaticConfig:
    max_batch_size: int
    max_num_tokens: int
    block_size: int
    blocks: int


def _form(run, queue: deque, cfg: StaticConfig) -> np.ndarray:
    batch, used = [], 0
    while queue and len(batch) < cfg.max_batch_size:
        rid = queue[0]
        need = -(-int(run.prompt[rid] + run.out[rid]) // cfg.block_size)
        if used + need > cfg.blocks:
            break
        batch.append(queue.popleft())
        used += need
    if not batch:
        rid = queue[0]
        raise KvCacheTooSmall(f"request {rid} ({run.prompt[rid]} + {run.out[rid]} tokens) needs more KV blocks "
                          f"than the {cfg.blocks} in the cache")
    run.sample(len(batch), used / cfg.blocks)
    return np.array(batch, dtype=np.int64)


def run_static(run, cfg: StaticConfig) -> None:
    queue: deque = deque()
    while not run.finished:
        run.arrive(queue)
        if not queue:
            run.idle_until_next()
            continue
        b = _form(run, queue, cfg)
        p, o = run.prompt[b], run.out[b]
        for idx, n, L in split(p, np.zeros_like(p), cfg.max_num_tokens):
            run.forward(n, L)
        run.comp[b] = p
        run.emit(b)
        ones = np.ones_like(p)
        for k in range(1, int(o.max())):
            run.forward(ones, p + k - 1)
            run.emit(b[o > k])
        run.comp[b] = p + o - 1
