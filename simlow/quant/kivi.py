"""KIVI KV-cache quantization (Liu et al. 2024, arXiv 2402.02750): keys per channel, values
per token, asymmetric min-max groups, and a full-precision window of recent tokens.

Layering: uses ``_exact``, ``base``; registered in ``registry`` as ``kivi{b}_k`` / ``kivi{b}_v``.

Input: a cache tensor ``(..., T, D)`` (tokens on axis -2, head channels on axis -1).

* Group rule (both roles): over a group g of ``group`` numbers, ``m = min g``,
  ``s = (max g - m) / (2**b - 1)``; s and m are stored float16 (RNE), and the codes use the
  stored values: ``q = clip(round_half_even((x - m16) / s16), 0, 2**b - 1)`` (float32 IEEE
  subtract and divide; torch.round is half-even); a constant group (s16 = 0) codes 0.
  Dequantize ``q * s16 + m16`` (two float32 roundings, never a fused multiply-add).
* **Keys** (``KvRole.KEY``): groups run along the *token* axis, one (s, m) per channel per
  ``group`` tokens. KIVI quantizes the key buffer only when ``residual`` tokens have
  accumulated, so the full-precision window is the last ``T mod residual`` tokens and
  ``residual`` must be a multiple of ``group``.
* **Values** (``KvRole.VALUE``): groups run along the *channel* axis, one (s, m) per
  ``group`` channels of a token; the newest ``min(T, residual)`` tokens stay full precision
  (a token is quantized when it leaves the window); D must be a multiple of ``group``.

The full-precision window is stored float16 (the model's KV dtype in KIVI). This follows
the KIVI reference code's arithmetic (``quant/new_pack.py``, ``models/llama_kivi.py``)
as read [MEM], in float32 with float16 stored scales; it is not pinned bit-for-bit to
KIVI's fp16 torch/Triton kernels (no CPU reference is available).

QTensor: ``codes`` uint8 ``(..., Tq, D)`` for the Tq quantized (oldest) tokens; ``scales``
float16 s, ``aux["min"]`` float16 m, shaped ``(..., Tq/group, D)`` for keys and
``(..., Tq, D/group)`` for values; ``aux["residual"]`` float16 ``(..., T - Tq, D)``.
``bits_per_weight`` = b + 32/group (codes + two float16 per group), for the quantized
tokens; the window's float16 tokens depend on T and are counted by the cache model.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp

from simlow.errors import SimlowError
from simlow.quant import _exact
from simlow.quant.base import as_input
from simlow.quant.qtensor import QTensor


@partial(jax.jit, static_argnums=1)
def _groups(g, maxq: int):
    """Min-max codes of groups along the last axis: (codes uint8, s16, m16) (keepdims)."""
    m16 = g.min(axis=-1, keepdims=True).astype(jnp.float16)
    mx = g.max(axis=-1, keepdims=True)
    m = m16.astype(jnp.float32)
    s16 = _exact.true_div(mx - g.min(axis=-1, keepdims=True), float(maxq)).astype(jnp.float16)
    s = s16.astype(jnp.float32)
    v = _exact.true_div(g - m, jnp.where(s == 0, 1.0, s))
    q = jnp.where(s == 0, 0.0, jnp.clip(jnp.round(v), 0, maxq))
    return q.astype(jnp.uint8), s16, m16


class KvRole(enum.StrEnum):
    """Which half of the KV cache a KIVI quantizer holds (module docstring)."""
    KEY = "key"
    VALUE = "value"


@dataclass(frozen=True)
class Kivi:
    """KIVI ``bits``-bit keys (per channel) or values (per token); see the module docstring."""

    name: str
    bits: int
    role: KvRole
    group: int = 32
    residual: int = 128
    storage: str | None = None

    def __post_init__(self):
        if self.role not in tuple(KvRole):
            raise SimlowError(f"{self.name}: role must be 'key' or 'value', got {self.role!r}")
        object.__setattr__(self, "role", KvRole(self.role))
        if not 1 <= self.bits <= 8 or self.group < 1 or self.residual < 0:
            raise SimlowError(f"{self.name}: need 1 <= bits <= 8, group >= 1, residual >= 0")
        if self.role is KvRole.KEY and self.residual % self.group:
            raise SimlowError(f"{self.name}: the key window {self.residual} must be a multiple "
                              f"of the group {self.group}")

    @property
    def bits_per_weight(self) -> float:
        return self.bits + 32 / self.group

    def _n_quant(self, t: int) -> int:
        if self.role is KvRole.KEY:
            return t - t % (self.residual or self.group)
        return max(t - self.residual, 0)

    def quantize(self, x) -> QTensor:
        arr = as_input(x, self.name)
        if arr.ndim < 2:
            raise SimlowError(f"{self.name}: expected a cache tensor (..., tokens, head_dim), got shape {arr.shape}")
        if bool((jnp.abs(arr) > 65504).any()):
            raise SimlowError(f"{self.name}: values exceed the float16 range the KV cache is kept in")
        t, d = arr.shape[-2:]
        tq = self._n_quant(t)
        if self.role is KvRole.VALUE and d % self.group:
            raise SimlowError(f"{self.name}: head_dim {d} is not a multiple of the group {self.group}")
        lead = arr.shape[:-2]
        xq = arr[..., :tq, :]
        if self.role is KvRole.KEY:   # groups of `group` tokens, per channel: put tokens last
            g = jnp.swapaxes(xq.reshape(lead + (tq // self.group, self.group, d)), -1, -2)
            codes, s16, m16 = _groups(g, 2 ** self.bits - 1)
            codes = jnp.swapaxes(codes, -1, -2).reshape(xq.shape)
            s16, m16 = s16[..., 0], m16[..., 0]
        else:
            g = xq.reshape(lead + (tq, d // self.group, self.group))
            codes, s16, m16 = _groups(g, 2 ** self.bits - 1)
            codes, s16, m16 = codes.reshape(xq.shape), s16[..., 0], m16[..., 0]
        aux = {"min": m16, "residual": arr[..., tq:, :].astype(jnp.float16)}
        return QTensor(codes, s16, self, arr.shape, aux)

    def dequantize(self, q: QTensor) -> jax.Array:
        codes = q.codes.astype(jnp.float32)
        s, m = q.scales.astype(jnp.float32), q.aux["min"].astype(jnp.float32)
        if self.role is KvRole.KEY:
            s, m = (jnp.repeat(v, self.group, axis=-2) for v in (s, m))
        else:
            s, m = (jnp.repeat(v, self.group, axis=-1) for v in (s, m))
        y = _exact.add(_exact.mul(codes, s), m)
        return jnp.concatenate([y, q.aux["residual"].astype(jnp.float32)], axis=-2)


KIVI = [Kivi(f"kivi{b}_{r[0]}", b, r) for b in (2, 4) for r in KvRole]
