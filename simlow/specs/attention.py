"""Attention shapes beyond one ``heads x head_dim`` attention in every layer.

``MLA``: multi-head latent attention (DeepSeek-V2/V3, Kimi K2), a compressed latent cached
instead of per-head keys and values. ``GlobalAttention``: the full-attention layers' own
shape beside the sliding-window layers' (Gemma 4). ``AttentionShape``: one layer's query,
KV head count and head width, as ``ModelSpec.attention(layer)`` gives it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MLA:
    """Multi-head latent attention (DeepSeek-V2, arXiv 2405.04434 sec. 2.1; V3, R1, Kimi K2).

    Each token's keys and values are compressed into one ``kv_lora_rank`` latent shared by
    all heads, plus one ``qk_rope_head_dim`` rotary key shared by all heads: the cache holds
    those ``latent`` values per token per layer. Queries are ``qk_nope_head_dim +
    qk_rope_head_dim`` wide per head (through a ``q_lora_rank`` bottleneck when it is
    non-zero), values ``v_head_dim``. simlow runs it in the *absorbed* form, as llama.cpp
    does in every phase (``src/models/deepseek2.cpp``, ``is_mla``) and vLLM at decode: the
    key up-projection (``attn_k_b``) is applied to the query, attention runs as MQA over the
    latent (keys ``kv_lora_rank + qk_rope_head_dim`` wide, values the first ``kv_lora_rank``
    of the same row), and the value up-projection (``attn_v_b``) to its output."""

    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int
    q_lora_rank: int = 0        # 0: a full-rank q projection (DeepSeek-V2-Lite)

    @property
    def latent(self) -> int:
        """Values cached per token per layer."""
        return self.kv_lora_rank + self.qk_rope_head_dim

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim


@dataclass(frozen=True)
class GlobalAttention:
    """The attention shape of the full-attention (non-windowed) layers when it differs from
    the windowed ones' (Gemma 4: ``num_global_key_value_heads``, ``global_head_dim``,
    ``attention_k_eq_v``). With ``k_eq_v`` the layer has no v projection: V is the K
    projection's output (then normed apart), so the cache still holds a K and a V vector per
    KV head (Hugging Face's Gemma 4 caches both)."""

    kv_heads: int
    head_dim: int
    k_eq_v: bool = False


@dataclass(frozen=True)
class AttentionShape:
    """One layer's attention: query heads x ``head_dim``, ``kv_heads`` K/V heads, and whether
    V is the K projection (no v weight)."""

    heads: int
    kv_heads: int
    head_dim: int
    k_eq_v: bool = False

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim
