"""Paged KV cache: how many blocks the engine gets, and the block pool with prefix caching.

Block count, as vLLM computes it (``vllm/v1/worker/gpu_worker.py``
``determine_available_memory`` and ``vllm/v1/core/kv_cache_utils.py``, vLLM main at commit
00024d314514900f361ad072af6931e403b7f589)::

    available = gpu_memory_utilization x device memory
                - weights - peak activation of the profiling forward - non-torch memory
    blocks    = available // (block_size x bytes per token of every layer's K and V)

Here: weights are ``simlow.specs.scheme.weight_bytes`` at the scheme; the KV bytes per token
per layer are ``ModelSpec.kv_token_bytes`` at the scheme's KV format (FP8 / int4 / block-
scaled KV formats included); the peak activation is an *estimate* of the profiling run
(``max_num_batched_tokens`` tokens through the residual stream, the attention projections
and the FFN's gate/up outputs at the activation format, plus ``max_num_seqs`` rows of fp32
logits); non-torch memory (CUDA context, allocator reserve) is taken as the part of the
device memory the hardware spec marks unusable (``memory.usable``). Sliding-window layers
are sized as full-attention layers (vLLM v1's hybrid allocator frees out-of-window blocks;
not modelled). ``kv_blocks`` overrides all of this.

The pool (``BlockPool``) counts blocks rather than storing them. With prefix caching, a
full block of prompt tokens is identified by (prefix id, block index) inside a shared
prefix, else by (request, block index); blocks a running request references are pinned,
released ones stay cached until evicted. Eviction takes never-cached free blocks first,
then the least recently released cached block (vLLM's free queue mixes both in release
order, so this keeps cached blocks somewhat longer than vLLM when memory is tight). Only
prompt blocks are hashed (vLLM also hashes full blocks of generated tokens, which only a
preempted request's recompute can hit).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass

from simlow.errors import SimlowError
from simlow.specs.scheme import weight_bytes
from simlow.workload.graph import VALUE_BYTES

DEFAULT_BLOCK_SIZE = 16            # vLLM CacheConfig.block_size default on CUDA
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9   # vLLM CacheConfig.gpu_memory_utilization default
LOGIT_BYTES = 4                    # vLLM's sampler holds logits in fp32


@dataclass(frozen=True)
class KvBudget:
    """How the block count was obtained (bytes)."""

    block_size: int
    block_bytes: int
    blocks: int
    capacity_bytes: float = 0.0
    utilization: float = 0.0
    weights_bytes: float = 0.0
    activation_bytes: float = 0.0
    reserved_bytes: float = 0.0
    available_bytes: float = 0.0
    overridden: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def block_bytes(model, scheme, block_size: int) -> int:
    """Bytes of one KV block over every layer (K and V) at the scheme's KV format."""
    return block_size * model.layers * model.kv_token_bytes(scheme.kv_cache)


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
    w = float(weight_bytes(model, scheme))
    act = float(profile_activation_bytes(model, scheme, max_batched_tokens, max_num_seqs))
    reserved = mem.capacity_bytes - mem.usable_bytes
    avail = utilization * mem.capacity_bytes - w - act - reserved
    blocks = int(avail // bb) if avail > 0 else 0
    if blocks < 1:
        raise SimlowError(
            f"does not fit: {model.name} at {scheme.name} leaves no memory for the KV cache on {hw.name} "
            f"({utilization:g} x {mem.capacity_bytes / 1e9:.2f} GB - weights {w / 1e9:.2f} GB - activations "
            f"{act / 1e9:.2f} GB - reserve {reserved / 1e9:.2f} GB = {avail / 1e9:.2f} GB); "
            "lower --max-batched-tokens or give --kv-blocks")
    return KvBudget(block_size, bb, blocks, mem.capacity_bytes, utilization, w, act, reserved, avail)


class BlockPool:
    """Block accounting for one run (mutable; owned by one scheduler loop)."""

    def __init__(self, blocks: int, caching: bool):
        self.total = blocks
        self.plain_free = blocks
        self.caching = caching
        self.refs: dict = {}                 # hash -> number of running requests using it
        self.lru: OrderedDict = OrderedDict()  # released cached blocks, oldest first

    @property
    def free(self) -> int:
        return self.plain_free + len(self.lru)

    @property
    def used(self) -> int:
        return self.total - self.free

    def take(self, k: int) -> None:
        """Allocate ``k`` fresh blocks (caller checked ``free``)."""
        plain = min(k, self.plain_free)
        self.plain_free -= plain
        for _ in range(k - plain):
            h, _ = self.lru.popitem(last=False)
            del self.refs[h]

    def hits(self, hashes) -> tuple[int, int]:
        """(leading blocks of ``hashes`` cached, how many of those are released ones)."""
        n = released = 0
        for h in hashes:
            if h not in self.refs:
                break
            n += 1
            released += h in self.lru
        return n, released

    def pin(self, hashes) -> None:
        """Reference cached blocks (a hit): released ones leave the free queue."""
        for h in hashes:
            if self.refs[h] == 0:
                del self.lru[h]
            self.refs[h] += 1

    def register(self, hashes) -> list:
        """Mark a request's freshly computed full blocks as cached; returns the hashes it
        now references (a hash another request registered first stays that one's)."""
        mine = []
        for h in hashes:
            if h not in self.refs:
                self.refs[h] = 1
                mine.append(h)
        return mine

    def release(self, hashes, plain: int) -> None:
        """A request frees ``plain`` uncached blocks and its references to ``hashes``
        (last block first, so a prompt's tail is evicted before its head)."""
        self.plain_free += plain
        for h in reversed(hashes):
            self.refs[h] -= 1
            if self.refs[h] == 0:
                self.lru[h] = None
