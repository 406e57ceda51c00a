"""Q8_0 and Q4_0 KV caches: GGUF blocks over each head vector (llama.cpp
``--cache-type-k/-v q8_0|q4_0``).

Layering: wraps ``gguf_legacy``; registered in ``registry`` as ``kv_q8_0`` / ``kv_q4_0``.

A cache tensor ``(..., tokens, head_dim)`` is quantized along ``head_dim`` in blocks of 32,
exactly as ``gguf_legacy.Q8_0`` / ``Q4_0`` (same codes, scales, bytes, tie rules; see that
module). llama.cpp stores a K/V row as ``n_head_kv * head_dim`` values; because head_dim
must be a multiple of 32 here, no block straddles two heads, so each head vector is a whole
number of blocks and the bytes equal llama.cpp's row layout. A head_dim that is not a
multiple of 32 (e.g. 80 for some models) is an error, not a padded guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax

from simlow.errors import SimlowError
from simlow.quant import gguf_legacy
from simlow.quant.base import as_input
from simlow.quant.qtensor import QTensor


@dataclass(frozen=True)
class KvBlocks:
    """A GGUF-block KV cache (``base`` = Q8_0 or Q4_0) over head vectors."""

    name: str
    base: gguf_legacy.GgufLegacy

    @property
    def storage(self) -> str:
        return self.base.storage

    @property
    def bits_per_weight(self) -> float:
        return self.base.bits_per_weight

    def _check(self, shape) -> None:
        if len(shape) < 2 or shape[-1] % self.base.block:
            raise SimlowError(f"{self.name}: expected a cache tensor (..., tokens, head_dim) with head_dim "
                              f"a multiple of {self.base.block}, got shape {tuple(shape)}")

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        self._check(arr.shape)
        q = self.base.quantize(arr)
        return QTensor(q.codes, q.scales, self, q.shape, q.aux)

    def dequantize(self, q: QTensor) -> jax.Array:
        return self.base.dequantize(q)

    def to_bytes(self, q: QTensor) -> bytes:
        return self.base.to_bytes(q)

    def from_bytes(self, buf, shape) -> QTensor:
        self._check(tuple(shape))
        q = self.base.from_bytes(buf, shape)
        return QTensor(q.codes, q.scales, self, q.shape, q.aux)


KV_Q8_0 = KvBlocks("kv_q8_0", gguf_legacy.Q8_0)
KV_Q4_0 = KvBlocks("kv_q4_0", gguf_legacy.Q4_0)
