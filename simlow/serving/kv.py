"""Paged KV cache: how many blocks the engine gets, and the block pool with prefix caching.

Block count, as vLLM v1 computes it. ``vllm/v1/worker/gpu_worker.py``
``determine_available_memory`` (vllm-project/vllm at commit
0012cf691b7e69423244d2b1405f4b6832156e19; v0.10 / v0.11 wrap the same sum in
``memory_profiling``: ``requested_memory - non_kv_cache_memory``, the latter weights + torch
peak increase + non-torch increase)::

    available = gpu_memory_utilization x total (as CUDA reports it)
                - weights - peak activation of the profiling forward - non-torch memory

and ``vllm/v1/core/kv_cache_utils.py`` (the hybrid allocator, vLLM >= 0.10): layers are put
in KV cache groups by attention type (full, sliding window), every group holding the same
number of layers ``g`` (for gpt-oss, 12 full + 12 sliding layers: two groups of ``g = 12``);
memory is split into ``g`` tensors whose pages one layer of each group shares, so::

    engine blocks = available // (g x block_size x bytes per token of one layer's K and V)

and all groups draw their blocks from that one pool: a full-attention group holds a block per
``block_size`` tokens of a request, a sliding-window group only the blocks the window covers
(``SlidingWindowManager`` frees the rest). A model without sliding-window layers is one group
of every layer (``g`` = layers), the sum vLLM v0 made.

Here: ``total`` is the hardware spec's capacity (nvidia-smi's total) x ``CUDA_TOTAL_FRACTION``;
non-torch memory is ``NON_TORCH_BYTES`` (both sourced below); weights are
``simlow.specs.scheme.weight_bytes`` at the scheme; the KV bytes per token per layer are
``ModelSpec.kv_token_bytes`` at the scheme's KV format (FP8 / int4 / block-scaled KV formats
included); the peak activation is an *estimate* of the profiling run
(``max_num_batched_tokens`` tokens through the residual stream, the attention projections
and the FFN's gate/up outputs at the activation format, plus ``max_num_seqs`` rows of fp32
logits). The scheduler (``simlow.serving.vllm``) counts a request's blocks per
``block_size`` tokens, one in every full-attention group: its pool is the engine blocks
divided by the full-attention groups (``KvBudget.blocks``); the few blocks a sliding-window
group holds per request (``ceil(window / block_size) + 1``, 9 for gpt-oss's 128-token window)
are not counted. A model whose every layer is windowed (Mistral-7B v0.1) is sized as one
full-attention group (its requests are taken to hold every block; exact below the window).
``kv_blocks`` overrides all of this.

The pool (``BlockPool``) counts blocks rather than storing them. With prefix caching, the
full blocks of a shared prefix are cached under the prefix id, the rest of a request's
full prompt blocks under the request (what its own recompute after a preemption can hit),
chunk by chunk as the prefill computes them;
blocks a running request references are pinned, released ones stay cached until evicted.
Eviction takes never-cached free blocks first, then the tail of the least recently
released group (vLLM's free queue holds single blocks in release order, a request's tail
first; taking never-cached blocks first keeps cached blocks somewhat longer than vLLM when
memory is tight). Only prompt blocks are cached (vLLM also hashes full blocks of
generated tokens, which only a preempted request's recompute can hit).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass

from simlow.errors import SimlowError
from simlow.specs.scheme import weight_bytes
from simlow.workload.op import VALUE_BYTES

DEFAULT_BLOCK_SIZE = 16            # vLLM CacheConfig.block_size default on CUDA
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9   # vLLM CacheConfig.gpu_memory_utilization default
LOGIT_BYTES = 4                    # vLLM's sampler holds logits in fp32
GIB = 1024 ** 3
# The total vLLM reads (torch.cuda.mem_get_info) is less than nvidia-smi's: H100 80GB HBM3,
# "total_gpu_memory (79.22GiB)" in vLLM's log (github.com/vllm-project/vllm/pull/10511 and
# /pull/12126) of nvidia-smi's 81559 MiB (github.com/vllm-project/vllm/issues/55169). Taken for
# every device (assumed; other boards' logs differ by a few tenths of a GiB).
CUDA_TOTAL_FRACTION = 79.22 * 1024 / 81559
# vLLM's non-torch memory (CUDA context growth, cuBLAS workspace outside torch's allocator)
# as it measures it: "non_torch_memory takes 0.16GiB" on one H100 80GB
# (github.com/vllm-project/vllm/pull/12126, the profiling later releases keep; its predecessor
# logged 1.79 GiB in github.com/vllm-project/vllm/pull/10511 before that fix). Single device;
# tensor parallelism adds NCCL buffers (3.58 GiB at TP=2 in pull 10511), not modelled.
NON_TORCH_BYTES = int(0.16 * GIB)


class KvCacheTooSmall(SimlowError):
    """The KV cache cannot hold one request (or none at all): the engine would refuse to
    start, or to serve it. A result of the budget, not bad input."""


@dataclass(frozen=True)
class LayerGroups:
    """vLLM's KV cache groups of a model (module docstring): ``size`` layers per group,
    ``full`` full-attention groups and ``sliding`` sliding-window ones."""

    size: int
    full: int
    sliding: int


def layer_groups(model) -> LayerGroups:
    """The hybrid allocator's grouping (``kv_cache_utils``: the group size is the smallest
    attention type's layer count, or the largest when it is within 1.25x of the smallest);
    a model of one attention type is one group of every layer."""
    sw = model.sliding_window
    windowed = 0 if sw is None else sum(sw.is_windowed(i) for i in range(model.layers))
    full = model.layers - windowed
    if windowed == 0 or full == 0:
        return LayerGroups(model.layers, 1, 0)
    lo, hi = min(full, windowed), max(full, windowed)
    g = hi if hi < 1.25 * lo else lo
    return LayerGroups(g, -(-full // g), -(-windowed // g))


@dataclass(frozen=True)
class KvBudget:
    """How the block count was obtained (bytes). ``blocks``: the pool the scheduler counts a
    request's blocks from (one block per ``block_size`` tokens in every full-attention group);
    ``engine_blocks``: vLLM's own block count (shared by every group)."""

    block_size: int
    block_bytes: int
    blocks: int
    capacity_bytes: float = 0.0
    total_bytes: float = 0.0
    utilization: float = 0.0
    weights_bytes: float = 0.0
    activation_bytes: float = 0.0
    non_torch_bytes: float = 0.0
    available_bytes: float = 0.0
    engine_blocks: int = 0
    group_layers: int = 0
    full_groups: int = 1
    sliding_groups: int = 0
    overridden: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def block_bytes(model, scheme, block_size: int) -> int:
    """Bytes of one scheduler block (module docstring): ``block_size`` tokens of K and V in
    every layer of the full-attention groups, at the scheme's KV format."""
    g = layer_groups(model)
    return block_size * g.size * g.full * model.kv_token_bytes(scheme.kv_cache)


def profile_activation_bytes(model, scheme, max_batched_tokens: int, max_num_seqs: int) -> int:
    """Estimated peak activation of vLLM's profiling forward (module docstring)."""
    ffn = model.intermediate_size
    if model.moe is not None:
        ffn = max(ffn, model.moe.expert_intermediate_size * model.moe.top_k)
    per_token = 3 * model.hidden_size + 2 * ffn + model.q_dim + 2 * model.kv_dim
    act = VALUE_BYTES[scheme.activations]
    return int(max_batched_tokens * per_token * act + max_num_seqs * model.vocab_size * LOGIT_BYTES)


def kv_budget(model, hw, scheme, engine, block_size: int = DEFAULT_BLOCK_SIZE,
              utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION, max_batched_tokens: int = 2048,
              max_num_seqs: int = 256, kv_blocks: int | None = None) -> KvBudget:
    """The engine's KV block count (module docstring); ``kv_blocks`` overrides it."""
    bb = block_bytes(model, scheme, block_size)
    if kv_blocks is not None:
        return KvBudget(block_size, bb, int(kv_blocks), overridden=True)
    if not 0.0 < utilization <= 1.0:
        raise SimlowError(f"gpu_memory_utilization must be in (0, 1], got {utilization}")
    mem = hw.memory(engine.memory)
    total = mem.capacity_bytes * CUDA_TOTAL_FRACTION
    w = float(weight_bytes(model, scheme))
    act = float(profile_activation_bytes(model, scheme, max_batched_tokens, max_num_seqs))
    avail = utilization * total - w - act - NON_TORCH_BYTES
    g = layer_groups(model)
    page = block_size * g.size * model.kv_token_bytes(scheme.kv_cache)
    engine_blocks = int(avail // page) if avail > 0 else 0
    blocks = engine_blocks // g.full
    if blocks < 1:
        raise KvCacheTooSmall(
            f"does not fit: {model.name} at {scheme.name} leaves no memory for the KV cache on {hw.name} "
            f"({utilization:g} x {total / 1e9:.2f} GB - weights {w / 1e9:.2f} GB - activations "
            f"{act / 1e9:.2f} GB - non-torch {NON_TORCH_BYTES / 1e9:.2f} GB = {avail / 1e9:.2f} GB); "
            + ("the weights alone exceed the memory: give a smaller --scheme"
               if w >= utilization * total - NON_TORCH_BYTES else
               "lower --max-batched-tokens or --max-num-seqs, or give --kv-blocks"))
    return KvBudget(block_size, bb, blocks, mem.capacity_bytes, total, utilization, w, act,
                    float(NON_TORCH_BYTES), avail, engine_blocks, g.size, g.full, g.sliding)


class BlockPool:
    """Block accounting for one run (mutable; owned by one scheduler loop).

    Cached blocks live in *groups*: the leading full blocks of a shared prefix (key: the
    prefix id) or of one request's own prompt (key: the request), ``size`` blocks each, so
    a request touches at most two entries however long its prompt. A group pinned by no
    running request sits in the free queue (``lru``, least recently released first) and is
    evicted from its tail, block by block, when fresh blocks run out."""

    def __init__(self, blocks: int):
        self.total = blocks
        self.plain_free = blocks
        self.size: dict = {}                   # group -> cached blocks
        self.refs: dict = {}                   # group -> running requests pinning it
        self.lru: OrderedDict = OrderedDict()  # released groups, oldest first
        self.lru_blocks = 0

    @property
    def free(self) -> int:
        return self.plain_free + self.lru_blocks

    @property
    def used(self) -> int:
        return self.total - self.free

    def take(self, k: int) -> None:
        """Allocate ``k`` fresh blocks (caller checked ``free``): never-cached blocks first,
        then evict the oldest released groups from their tails."""
        if k <= self.plain_free:
            self.plain_free -= k
            return
        plain = min(k, self.plain_free)
        self.plain_free -= plain
        k -= plain
        while k > 0:
            key = next(iter(self.lru))
            x = min(k, self.size[key])
            self.size[key] -= x
            self.lru_blocks -= x
            k -= x
            if self.size[key] == 0:
                del self.lru[key], self.size[key], self.refs[key]

    def cached(self, key) -> int:
        return self.size.get(key, 0)

    def pin(self, key, use: int) -> int:
        """Reference ``use`` leading blocks of group ``key`` (a hit); a released group
        leaves the free queue, cut to ``use`` blocks (its tail returns to fresh blocks).
        Returns the blocks that left the free pool."""
        if self.refs[key] == 0:
            del self.lru[key]
            self.lru_blocks -= self.size[key]
            self.plain_free += self.size[key] - use
            self.size[key] = use
            self.refs[key] = 1
            return use
        self.refs[key] += 1
        return 0

    def released_blocks(self, key, use: int) -> int:
        """Blocks a hit of ``use`` blocks of ``key`` takes out of the free pool."""
        return use if key in self.lru else 0

    def extend(self, key, target: int, pinned: bool) -> int:
        """A request has computed ``target`` leading blocks of group ``key``: make them
        cached. ``pinned``: it already references the group. Returns the blocks it handed
        over to the group (0 when another request's group covers them or owns the key)."""
        have = self.size.get(key)
        if have is None:
            self.size[key], self.refs[key] = target, 1
            return target
        if not pinned or target <= have:
            return 0
        self.size[key] = target
        return target - have

    def release(self, keys, plain: int) -> None:
        """A request frees ``plain`` uncached blocks and its references to groups ``keys``."""
        self.plain_free += plain
        for key in keys:
            self.refs[key] -= 1
            if self.refs[key] == 0:
                self.lru[key] = None
                self.lru_blocks += self.size[key]
