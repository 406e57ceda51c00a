"""The weight tensors of a model shape, one entry per tensor (experts grouped by count).

Shapes follow the GGUF / PyTorch convention ``rows = output features, cols = input
features``: quantization blocks run along ``cols``. Norm weights and biases are 1 x n.
Parameter counts are sums over these tensors (``param_count``, ``active_param_count``).
"""

from __future__ import annotations

from simlow.specs.model import FfnKind, ModelSpec, NormKind, TensorClass as C, WeightTensor


def weight_tensors(m: ModelSpec) -> list[WeightTensor]:
    out = [WeightTensor("token_embd", C.EMBEDDING, None, m.vocab_size, m.hidden_size)]
    if m.rope_freqs:
        out.append(WeightTensor("rope_freqs", C.ROPE, None, 1, m.head_dim // 2))
    for i in range(m.layers):
        out += _attention(m, i)
        out += _ffn(m, i)
        out += _norms(m, i)
    out.append(WeightTensor("output_norm", C.NORM, None, 1, m.hidden_size, 2 if m.norm is NormKind.LAYER else 1))
    if not m.tied_embeddings:
        out.append(WeightTensor("output", C.LM_HEAD, None, m.vocab_size, m.hidden_size))
    return out


def param_count(m: ModelSpec) -> int:
    """Every parameter of the model (all experts)."""
    return sum(t.params for t in weight_tensors(m))


def active_param_count(m: ModelSpec) -> int:
    """Parameters touched per token (top-k experts only)."""
    return sum(t.rows * t.cols * m.moe.top_k if t.cls.is_expert and m.moe else t.params
               for t in weight_tensors(m))


def matches_published(m: ModelSpec) -> bool:
    """Whether ``param_count`` equals the published count (within its rounding)."""
    if m.params_published is None:
        return True
    return abs(param_count(m) - m.params_published) * 2 <= m.params_rounding


def _attention(m: ModelSpec, i: int) -> list[WeightTensor]:
    if m.mla is not None:
        return _latent_attention(m, i)
    a = m.attention(i)
    h, q, kv = m.hidden_size, a.q_dim, a.kv_dim
    out = [WeightTensor(f"blk.{i}.attn_q", C.ATTN_Q, i, q, h), WeightTensor(f"blk.{i}.attn_k", C.ATTN_K, i, kv, h)]
    if not a.k_eq_v:                        # Gemma 4's global layers: V is the K projection
        out.append(WeightTensor(f"blk.{i}.attn_v", C.ATTN_V, i, kv, h))
    out.append(WeightTensor(f"blk.{i}.attn_output", C.ATTN_O, i, h, q))
    if m.attention_bias:
        out.append(WeightTensor(f"blk.{i}.attn_qkv.bias", C.BIAS, i, 1, q + (1 if a.k_eq_v else 2) * kv))
    if m.attention_out_bias:
        out.append(WeightTensor(f"blk.{i}.attn_output.bias", C.BIAS, i, 1, h))
    if m.attention_sinks:
        out.append(WeightTensor(f"blk.{i}.attn_sinks", C.BIAS, i, 1, m.heads))
    return out


def _latent_attention(m: ModelSpec, i: int) -> list[WeightTensor]:
    """Multi-head latent attention's matrices as llama.cpp's GGUF holds them
    (``convert_hf_to_gguf.py`` splits Hugging Face's ``kv_b_proj`` into ``attn_k_b``, one
    ``kv_lora_rank x qk_nope_head_dim`` matrix per head, and ``attn_v_b``, one ``v_head_dim x
    kv_lora_rank`` matrix per head: the same parameters). Its two norms are in ``_norms``."""
    mla, h, heads = m.mla, m.hidden_size, m.heads
    assert mla is not None
    if mla.q_lora_rank:
        q = [WeightTensor(f"blk.{i}.attn_q_a", C.ATTN_Q_A, i, mla.q_lora_rank, h),
             WeightTensor(f"blk.{i}.attn_q_b", C.ATTN_Q_B, i, m.q_dim, mla.q_lora_rank)]
    else:
        q = [WeightTensor(f"blk.{i}.attn_q", C.ATTN_Q, i, m.q_dim, h)]
    return q + [
        WeightTensor(f"blk.{i}.attn_kv_a_mqa", C.ATTN_KV_A, i, mla.latent, h),
        WeightTensor(f"blk.{i}.attn_k_b", C.ATTN_K_B, i, mla.kv_lora_rank, mla.qk_nope_head_dim, heads),
        WeightTensor(f"blk.{i}.attn_v_b", C.ATTN_V_B, i, mla.v_head_dim, mla.kv_lora_rank, heads),
        WeightTensor(f"blk.{i}.attn_output", C.ATTN_O, i, h, m.attn_out_dim),
    ]


def _ffn(m: ModelSpec, i: int) -> list[WeightTensor]:
    h = m.hidden_size
    if not m.is_moe_layer(i):
        return _dense_ffn(m, i, m.intermediate_size, "ffn", (C.FFN_GATE, C.FFN_UP, C.FFN_DOWN), 1, m.mlp_bias)
    moe = m.moe
    assert moe is not None
    out = [WeightTensor(f"blk.{i}.ffn_gate_inp", C.ROUTER, i, moe.experts, h)]
    if moe.router_bias:
        out.append(WeightTensor(f"blk.{i}.ffn_gate_inp.bias", C.BIAS, i, 1, moe.experts))
    out += _dense_ffn(m, i, moe.expert_intermediate_size, "ffn_{}_exps",
                      (C.EXPERT_GATE, C.EXPERT_UP, C.EXPERT_DOWN), moe.experts, moe.expert_bias)
    if moe.shared_experts:
        width = moe.shared_intermediate_size * moe.shared_experts
        out += _dense_ffn(m, i, width, "ffn_{}_shexp", (C.SHARED_GATE, C.SHARED_UP, C.SHARED_DOWN), 1, False)
    return out


def _dense_ffn(m: ModelSpec, i: int, width: int, stem: str, classes: tuple[C, C, C], count: int,
               bias: bool) -> list[WeightTensor]:
    h = m.hidden_size
    gate_c, up_c, down_c = classes

    def name(part: str) -> str:
        return f"blk.{i}." + (stem.format(part) if "{}" in stem else f"{stem}_{part}")

    out = []
    if m.ffn is FfnKind.GATED:
        out.append(WeightTensor(name("gate"), gate_c, i, width, h, count))
    out.append(WeightTensor(name("up"), up_c, i, width, h, count))
    out.append(WeightTensor(name("down"), down_c, i, h, width, count))
    if bias:
        n_in = (2 if m.ffn is FfnKind.GATED else 1) * width
        out.append(WeightTensor(name("bias"), C.BIAS, i, 1, (n_in + h) * count))
    return out


def _norms(m: ModelSpec, i: int) -> list[WeightTensor]:
    per = 2 if m.norm is NormKind.LAYER else 1
    width = m.hidden_size * m.norms_per_layer
    if m.attn_sub_norm:
        width += m.hidden_size
    if m.ffn_sub_norm:
        width += m.moe.expert_intermediate_size if m.is_moe_layer(i) else m.intermediate_size  # type: ignore[union-attr]
    if m.qk_norm:
        width += 2 * m.attention(i).head_dim
    if m.mla is not None:                   # attn_q_a_norm (when q is low-rank) and attn_kv_a_norm
        width += m.mla.q_lora_rank + m.mla.kv_lora_rank
    return [WeightTensor(f"blk.{i}.norms", C.NORM, i, 1, width, per)]
