"""Op templates of a model under a scheme: every operation of one forward step, in
execution order, with its cost as coefficients over workload features (``simlow.workload.op``).

Identical layers share one template: ``repeat`` counts them and ``layers`` lists them, so an
80-layer model costs one layer's worth of templates. Bytes are not double counted: every byte
of ``weight_read`` belongs to exactly one weight tensor (tested: graph totals equal per-op
sums, and a dense decode step reads every weight tensor once except the embedding table, of
which it reads T rows).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping

from simlow.errors import SimlowError
from simlow.formats import StorageFormat
from simlow.specs.model import FfnKind, ModelSpec, NormKind, TensorClass as C
from simlow.specs.scheme import Scheme, SchemeKind, tensor_formats
from simlow.workload.op import VALUE_BYTES, VECTOR_FORMAT, OpClass, OpTemplate


def _coef(**quantities: Mapping[str, float]) -> Mapping[str, Mapping[str, float]]:
    return MappingProxyType({q: MappingProxyType(dict(v)) for q, v in quantities.items() if v})


def _matmul(name: str, rows: int, cols: int, fmt: StorageFormat, compute: str, act: float,
            per: str = "tokens", kernels: int = 1, count: int = 1, weight_feature: str = "one",
            tensors: tuple[str, ...] = (), role: C | None = None) -> OpTemplate:
    """``count`` weight matrices of rows x cols applied to ``per`` activation rows.

    With ``weight_feature="experts"`` each of ``count`` matrices is one expert's, read once
    per distinct expert touched; ``per`` rows each pass through one of them."""
    wbytes = fmt.tensor_bytes(rows, cols)
    w_mult = count if weight_feature == "one" else 1
    return OpTemplate(
        name, OpClass.MATMUL, compute,
        _coef(flops={per: 2.0 * rows * cols * count},
              weight_read={weight_feature: float(wbytes * w_mult)},
              act_read={per: act * cols * count}, act_write={per: act * rows * count},
              params={weight_feature: float(rows * cols * w_mult)}),
        kernels=kernels, weight_format=fmt.name, tensors=tensors, role=role)


def _vector(name: str, width: int, act: float, flops_per: float, kernels: int,
            weight_bytes: float = 0.0, per: str = "tokens") -> OpTemplate:
    return OpTemplate(name, OpClass.VECTOR, VECTOR_FORMAT,
                      _coef(flops={per: flops_per * width}, act_read={per: act * width},
                            act_write={per: act * width},
                            weight_read={"one": weight_bytes} if weight_bytes else {}),
                      kernels=kernels)


@dataclass(frozen=True)
class _Tensors:
    """Every weight tensor of a model with its format under a scheme (all scheme rules
    applied: overrides, model conditions, tied embeddings, block fallbacks) and its bytes."""

    fmt: Mapping[str, StorageFormat]
    nbytes: Mapping[str, int]
    cls: Mapping[str, C]
    by_layer: Mapping[int | None, tuple[str, ...]]

    @classmethod
    def of(cls, m: ModelSpec, s: Scheme) -> "_Tensors":
        fmt, nbytes, klass, by_layer = {}, {}, {}, {}
        for t, f, n in tensor_formats(m, s):
            fmt[t.name], nbytes[t.name], klass[t.name] = f, n, t.cls
            by_layer.setdefault(t.layer, []).append(t.name)
        return cls(fmt, nbytes, klass, {k: tuple(v) for k, v in by_layer.items()})

    def bytes_of(self, layer: int | None, classes: tuple[C, ...]) -> int:
        """Bytes of the tensors of ``layer`` (None: outside the layers) of the given classes."""
        return sum(self.nbytes[n] for n in self.by_layer.get(layer, ()) if self.cls[n] in classes)


def _layer_templates(m: ModelSpec, s: Scheme, i: int, tf: _Tensors) -> list[OpTemplate]:
    """The ops of layer ``i`` (names without the layer-group prefix)."""
    act = VALUE_BYTES[s.activations]
    h, q, kv = m.hidden_size, m.q_dim, m.kv_dim
    per = 2 if m.norm is NormKind.LAYER else 1
    attn_norm = tf.fmt[f"blk.{i}.norms"].tensor_bytes(1, h) * per
    out = [_vector("attn_norm", h, act, 5.0, 3, attn_norm)]
    if m.mla is not None:
        out += _latent_attention(m, s, i, tf)
    else:
        a = m.attention(i)
        q, kv = a.q_dim, a.kv_dim
        projections = [("attn_q", q, C.ATTN_Q), ("attn_k", kv, C.ATTN_K)]
        if not a.k_eq_v:
            projections.append(("attn_v", kv, C.ATTN_V))
        for name, rows, role in projections:
            out.append(_matmul(name, rows, h, tf.fmt[f"blk.{i}.{name}"], s.compute, act,
                               tensors=(f"blk.{i}.{name}",), role=role))
        out.append(_vector("rope", q + kv + (2 * a.head_dim if m.qk_norm else 0), act, 6.0, 2))
        out.append(_attention(m, s, i))
    if m.attn_sub_norm:
        out.append(_vector("attn_sub_norm", h, act, 5.0, 2))
    width = m.attn_out_dim if m.mla else m.attention(i).q_dim
    out.append(_matmul("attn_output", h, width, tf.fmt[f"blk.{i}.attn_output"], s.compute, act,
                       tensors=(f"blk.{i}.attn_output",), role=C.ATTN_O))
    # the rest of the layer's norm weights, and its biases and sinks, are read with ffn_norm
    rest = tf.bytes_of(i, (C.NORM,)) - attn_norm + tf.bytes_of(i, (C.BIAS,))
    out.append(_vector("ffn_norm", h, act, 6.0, 3, rest))
    out += _ffn_templates(m, s, i, act, tf)
    return out


def _attention(m: ModelSpec, s: Scheme, i: int) -> OpTemplate:
    """Scores and weighted sum over the cache (fused, flash-attention style: scores stay on
    chip). Per pair and head: 2*head_dim (q.k) + 2*head_dim (p.v) ops; the softmax's few
    fp32 ops per pair are folded in as 5 per head. KV bytes per token: K and V rows of
    ``kv_heads x head_dim`` at the KV format (its scales and norms included), the layer's own
    shape (``ModelSpec.attention``: Gemma 4's global layers differ)."""
    act, a = VALUE_BYTES[s.activations], m.attention(i)
    kv_tok = m.kv_token_bytes(s.kv_cache, i)
    window = m.sliding_window.size if m.sliding_window and m.sliding_window.is_windowed(i) else None
    coef = _coef(flops={"pairs": m.heads * (4.0 * a.head_dim + 5.0)},
                 kv_read={"cached": float(kv_tok)}, kv_write={"tokens": float(kv_tok)},
                 act_read={"tokens": act * (a.q_dim + 2 * a.kv_dim)}, act_write={"tokens": act * a.q_dim})
    return OpTemplate("attention", OpClass.ATTENTION, s.activations, coef, kernels=4, window=window)


def _latent_attention(m: ModelSpec, s: Scheme, i: int, tf: _Tensors) -> list[OpTemplate]:
    """Multi-head latent attention in the absorbed form, op for op as llama.cpp's
    ``llm_build_deepseek2`` runs it with an MLA GGUF (in every phase; vLLM uses this form at
    decode and the naive one, ``kv_b`` expanded per cached token, for prefill): q (through
    ``attn_q_a``, its norm and ``attn_q_b`` when ``q_lora_rank`` > 0), the latent and shared
    rope key (``attn_kv_a_mqa``) and the latent's norm; rope; the per-head ``attn_k_b`` takes
    q_nope into latent space; attention runs as MQA over the cached latent rows; the per-head
    ``attn_v_b`` takes its output back to ``v_head_dim`` per head. ``attn_output`` follows."""
    mla = m.mla
    assert mla is not None
    act, h, heads = VALUE_BYTES[s.activations], m.hidden_size, m.heads

    def proj(name: str, rows: int, cols: int, role: C, count: int = 1) -> OpTemplate:
        return _matmul(name, rows, cols, tf.fmt[f"blk.{i}.{name}"], s.compute, act, count=count,
                       tensors=(f"blk.{i}.{name}",), role=role)

    if mla.q_lora_rank:
        out = [proj("attn_q_a", mla.q_lora_rank, h, C.ATTN_Q_A),
               _vector("attn_q_a_norm", mla.q_lora_rank, act, 5.0, 2),
               proj("attn_q_b", m.q_dim, mla.q_lora_rank, C.ATTN_Q_B)]
    else:
        out = [proj("attn_q", m.q_dim, h, C.ATTN_Q)]
    out += [proj("attn_kv_a_mqa", mla.latent, h, C.ATTN_KV_A),
            _vector("attn_kv_a_norm", mla.kv_lora_rank, act, 5.0, 2),
            _vector("rope", (heads + 1) * mla.qk_rope_head_dim, act, 6.0, 2),
            proj("attn_k_b", mla.kv_lora_rank, mla.qk_nope_head_dim, C.ATTN_K_B, count=heads),
            _latent_scores(m, s),
            proj("attn_v_b", mla.v_head_dim, mla.kv_lora_rank, C.ATTN_V_B, count=heads)]
    return out


def _latent_scores(m: ModelSpec, s: Scheme) -> OpTemplate:
    """Attention over the latent cache (absorbed MLA: MQA with one KV head). Per pair and
    head: 2 (kv_lora_rank + qk_rope_head_dim) ops for q.k over the whole cached row, 2
    kv_lora_rank for p.v over its latent part, and the softmax's 5. The cache is read once
    per cached token: one latent row (``ModelSpec.kv_token_bytes``), V being a view of K."""
    mla = m.mla
    assert mla is not None
    act, kv_tok = VALUE_BYTES[s.activations], m.kv_token_bytes(s.kv_cache)
    coef = _coef(flops={"pairs": m.heads * (2.0 * mla.latent + 2.0 * mla.kv_lora_rank + 5.0)},
                 kv_read={"cached": float(kv_tok)}, kv_write={"tokens": float(kv_tok)},
                 act_read={"tokens": act * (m.heads + 1) * mla.latent},
                 act_write={"tokens": act * m.heads * mla.kv_lora_rank})
    return OpTemplate("attention", OpClass.ATTENTION, s.activations, coef, kernels=4)


def _ffn_templates(m: ModelSpec, s: Scheme, i: int, act: float, tf: _Tensors) -> list[OpTemplate]:
    h = m.hidden_size
    if not m.is_moe_layer(i):
        return _gated("ffn", m, s, i, m.intermediate_size, f"blk.{i}.ffn_{{}}", act, tf)
    moe = m.moe
    assert moe is not None
    router = f"blk.{i}.ffn_gate_inp"
    out = [_matmul("router", moe.experts, h, tf.fmt[router], VECTOR_FORMAT, act, tensors=(router,)),
           _vector("topk", moe.experts, act, 6.0, 4)]
    out += [replace(t, expert=True) for t in _gated("experts", m, s, i, moe.expert_intermediate_size,
                                                   f"blk.{i}.ffn_{{}}_exps", act, tf, moe.top_k, "experts")]
    out.append(_combine(h, moe.top_k, act))
    if moe.shared_experts:
        width = moe.shared_intermediate_size * moe.shared_experts
        out += _gated("shared", m, s, i, width, f"blk.{i}.ffn_{{}}_shexp", act, tf)
    return out


def _combine(h: int, k: int, act: float) -> OpTemplate:
    """The routed experts' outputs weighted and summed, as llama.cpp's build_moe_ffn does it:
    one ``mul`` by the routing weights over ``k x h`` values, then ``k - 1`` pairwise ``add``
    kernels (one ``cont`` instead when k = 1). Per token: (2k - 1) h flops, reads k h + 2 (k - 1)
    h values and writes k h + (k - 1) h."""
    return OpTemplate("moe_combine", OpClass.VECTOR, VECTOR_FORMAT,
                      _coef(flops={"tokens": float((2 * k - 1) * h)},
                            act_read={"tokens": act * (3 * k - 2) * h},
                            act_write={"tokens": act * (2 * k - 1) * h}),
                      kernels=k if k > 1 else 2)


def _gated(stem: str, m: ModelSpec, s: Scheme, i: int, width: int, tensor: str, act: float, tf: _Tensors,
           count: int = 1, weight_feature: str = "one") -> list[OpTemplate]:
    """gate and up (gated FFN) or up alone (plain), the activation function, then down.
    ``tensor`` is the weight tensor name pattern with ``{}`` for gate / up / down."""
    h = m.hidden_size
    kw = dict(count=count, weight_feature=weight_feature)
    out = []
    for part in (("gate", "up") if m.ffn is FfnKind.GATED else ("up",)):
        name = tensor.format(part)
        out.append(_matmul(f"{stem}_{part}", width, h, tf.fmt[name], s.compute, act, tensors=(name,), **kw))
    out.append(_vector(f"{stem}_act", width * count, act, 8.0 if m.ffn is FfnKind.GATED else 6.0,
                       2 if m.ffn is FfnKind.GATED else 1))
    if m.ffn_sub_norm:
        out.append(_vector(f"{stem}_sub_norm", width * count, act, 5.0, 2))
    name = tensor.format("down")
    out.append(_matmul(f"{stem}_down", h, width, tf.fmt[name], s.compute, act, tensors=(name,), **kw))
    return out


def _signature(m: ModelSpec, tf: _Tensors, i: int) -> tuple:
    """Layers with equal signatures have identical templates."""
    prefix = f"blk.{i}."
    fmts = tuple((n[len(prefix):], tf.fmt[n].name) for n in tf.by_layer.get(i, ()))
    sw = m.sliding_window
    return fmts, m.is_moe_layer(i), bool(sw and sw.is_windowed(i))


def templates(m: ModelSpec, s: Scheme) -> tuple[tuple[OpTemplate, ...], tuple[int, ...]]:
    """Every op template of ``m`` under ``s`` in execution order, and the layer sequence.

    Layers are grouped by signature (format per weight tensor, dense or MoE, windowed or
    global); group ``g`` contributes templates named ``layers{g}.<op>`` with ``repeat`` = the
    number of its layers. ``sequence[i]`` is the group layer ``i`` belongs to."""
    if s.kind is not SchemeKind.WEIGHTS:
        raise SimlowError(f"scheme {s.name!r} is a KV-cache scheme; give a weight scheme "
                          f"(and pass it as kv_scheme)")
    act = VALUE_BYTES[s.activations]
    tf = _Tensors.of(m, s)
    groups: dict[tuple, list[int]] = {}
    for i in range(m.layers):
        groups.setdefault(_signature(m, tf, i), []).append(i)
    index = {sig: g for g, sig in enumerate(groups)}
    sequence = tuple(index[_signature(m, tf, i)] for i in range(m.layers))
    emb_fmt = tf.fmt["token_embd"]
    out = [OpTemplate("token_embd", OpClass.GATHER, s.activations,
                      _coef(weight_read={"tokens": float(emb_fmt.tensor_bytes(1, m.hidden_size))},
                            act_write={"tokens": act * m.hidden_size}),
                      weight_format=emb_fmt.name, tensors=("token_embd",))]
    for sig, layers in groups.items():
        g = index[sig]
        for t in _layer_templates(m, s, layers[0], tf):
            out.append(replace(t, name=f"layers{g}.{t.name}", repeat=len(layers), layers=tuple(layers), group=g))
    # the output norm and the rope frequency table: small tensors used once per step
    small = tf.bytes_of(None, (C.NORM, C.ROPE))
    out.append(_vector("output_norm", m.hidden_size, act, 5.0, 2, per="seqs", weight_bytes=small))
    head = "token_embd" if m.tied_embeddings else "output"
    out.append(_matmul("lm_head", m.vocab_size, m.hidden_size, tf.fmt[head], s.compute, act, per="seqs",
                       tensors=(head,)))
    return tuple(out), sequence
