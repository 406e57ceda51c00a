"""The Llama forward pass (llama.cpp's ``LLM_ARCH_LLAMA`` graph) in JAX, under a design.

Per layer: ``x = rms_norm(h) * attn_norm``; q, k, v projections; rope on q and k in the
"normal" (interleaved, non-NeoX) form llama.cpp uses for Llama GGUF weights: element pairs
``(2i, 2i+1)`` of each head rotate by ``pos * base**(-2i/head_dim)``; the KV cache stores k
(after rope) and v in the design's KV format (quantize -> dequantize per head vector);
causal softmax attention with scale ``1/sqrt(head_dim)``, query head ``j`` reading KV head
``j // (n_heads / n_kv_heads)`` (GQA); output projection and residual add; then
``x = rms_norm(h) * ffn_norm`` and SwiGLU ``down(silu(gate(x)) * up(x))`` and residual add.
Finally ``rms_norm(h) * output_norm`` and the output matrix (tied to the embedding when
the file has no ``output.weight``). ``rms_norm(x) = x / sqrt(mean(x^2) + eps)``.

The seven matmuls of every layer and the output matrix go through ``simlow.lm.linear``;
the embedding lookup reads the file's dequantized ``token_embd`` (a lookup, not a matmul).
Norms, rope and attention run in float32 (jitted); the layer loop is a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simlow.lm.design import Design
from simlow.lm.gguf_load import MATRICES, LlamaConfig, LlamaFile, as_float
from simlow.lm.linear import Prepared, apply, prepare, rotate
from simlow.quant import quantize


# The input each matrix reads (matrices sharing an input share its calibration statistics).
INPUTS = {"attn_q": "attn_in", "attn_k": "attn_in", "attn_v": "attn_in", "attn_output": "attn_out",
          "ffn_gate": "ffn_in", "ffn_up": "ffn_in", "ffn_down": "ffn_mid"}


@dataclass(frozen=True)
class PreparedModel:
    design: Design
    config: LlamaConfig
    layers: tuple[dict, ...]        # MATRICES -> Prepared, plus the two norm vectors
    output: Prepared
    output_norm: jax.Array
    embedding: jax.Array


@dataclass(frozen=True)
class Trace:
    """Per-layer observations of one forward pass."""

    hidden: tuple[jax.Array, ...]       # residual stream after each layer (T, dim)
    kurtosis: tuple[float, ...]         # mean per-token kurtosis of the attention input (after rotation)
    kurtosis_unrotated: tuple[float, ...]   # the same before the design's rotation


def prepare_model(model: LlamaFile, design: Design, weights: tuple | None = None) -> PreparedModel:
    """The model under ``design``; ``weights`` = (per-layer {matrix: Prepared}, output
    Prepared) when they were prepared elsewhere (calibrated methods, ``simlow.lm.calibrate``)."""
    if weights is None:
        weights = (tuple({n: prepare(design, layer[n]) for n in MATRICES} for layer in model.layers),
                   prepare(design, model.output))
    layers = tuple({**mats, "attn_norm": jnp.asarray(layer["attn_norm"]), "ffn_norm": jnp.asarray(layer["ffn_norm"])}
                   for mats, layer in zip(weights[0], model.layers))
    return PreparedModel(design, model.config, layers, weights[1],
                         jnp.asarray(model.output_norm), jnp.asarray(as_float(model.token_embd)))


@partial(jax.jit, static_argnums=(2,))
def rms_norm(x, w, eps: float):
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + eps) * w


@partial(jax.jit, static_argnums=(2,))
def rope(x, pos, base: float):
    """Normal (interleaved) rope of ``x`` (T, heads, head_dim) at positions ``pos`` (T,)."""
    hd = x.shape[-1]
    theta = base ** (-jnp.arange(0, hd, 2, dtype=jnp.float32) / hd)
    ang = pos.astype(jnp.float32)[:, None] * theta[None, :]
    cos, sin = jnp.cos(ang)[:, None, :], jnp.sin(ang)[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return jnp.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], axis=-1).reshape(x.shape)


@jax.jit
def attention(q, k, v):
    """Causal GQA attention: q (T, H, d), k/v (T, Hkv, d) -> (T, H*d)."""
    t, h, d = q.shape
    rep = h // k.shape[1]
    k, v = jnp.repeat(k, rep, axis=1), jnp.repeat(v, rep, axis=1)
    s = jnp.einsum("thd,shd->hts", q, k, precision=jax.lax.Precision.HIGHEST) / jnp.sqrt(jnp.float32(d))
    s = jnp.where(jnp.tril(jnp.ones((t, t), bool))[None], s, -jnp.inf)
    p = jax.nn.softmax(s, axis=-1)
    return jnp.einsum("hts,shd->thd", p, v, precision=jax.lax.Precision.HIGHEST).reshape(t, h * d)


@jax.jit
def kurtosis(x):
    """Mean over rows of each row's kurtosis E[(x-mu)^4] / var^2."""
    c = x - x.mean(-1, keepdims=True)
    var = (c * c).mean(-1)
    return jnp.mean((c ** 4).mean(-1) / jnp.maximum(var * var, 1e-30))


def kv_cache(design: Design, x):
    """``x`` (T, heads, d) through the design's KV-cache format (quantize, dequantize)."""
    if design.kv_cache == "float":
        return x
    t, h, d = x.shape
    return quantize(x.reshape(t * h, d), design.kv_cache).dequantize().reshape(x.shape)


def qkv(pm: PreparedModel, layer: dict, x, pos):
    """q (T, H, d), k, v (T, Hkv, d) of the attention input ``x``: k and q after rope, before
    the KV cache's format."""
    cfg, d = pm.config, pm.design
    t, hd = x.shape[0], cfg.head_dim
    q = rope(apply(d, x, layer["attn_q"]).reshape(t, cfg.n_heads, hd), pos, cfg.rope_base)
    k = rope(apply(d, x, layer["attn_k"]).reshape(t, cfg.n_kv_heads, hd), pos, cfg.rope_base)
    return q, k, apply(d, x, layer["attn_v"]).reshape(t, cfg.n_kv_heads, hd)


def run_layer(pm: PreparedModel, layer: dict, h, pos):
    """One layer on the residual stream ``h``: (new h, (kurtosis before, after the rotation),
    the matmul inputs by ``INPUTS`` name)."""
    cfg, d = pm.config, pm.design
    x = rms_norm(h, layer["attn_norm"], cfg.rms_eps)
    kurt = (kurtosis(x), kurtosis(rotate(d, x)))
    q, k, v = qkv(pm, layer, x, pos)
    a = attention(q, kv_cache(d, k), kv_cache(d, v))
    h = h + apply(d, a, layer["attn_output"])
    x2 = rms_norm(h, layer["ffn_norm"], cfg.rms_eps)
    f = jax.nn.silu(apply(d, x2, layer["ffn_gate"])) * apply(d, x2, layer["ffn_up"])
    return h + apply(d, f, layer["ffn_down"]), kurt, {"attn_in": x, "attn_out": a, "ffn_in": x2, "ffn_mid": f}


def forward(pm: PreparedModel, tokens, n_layers: int | None = None, trace: bool = False):
    """Logits (T, vocab) float32 of ``tokens`` (positions 0..T-1); with ``trace`` also a
    ``Trace``. ``n_layers`` runs only the first layers (for tests)."""
    tokens = jnp.asarray(np.asarray(tokens, np.int32))
    pos = jnp.arange(tokens.shape[0], dtype=jnp.int32)
    h = pm.embedding[tokens]
    hidden, kurts, raw = [], [], []
    for layer in pm.layers[:n_layers]:
        h, (k_raw, k_rot), _ = run_layer(pm, layer, h, pos)
        if trace:
            hidden.append(h)
            kurts.append(float(k_rot))
            raw.append(float(k_raw))
    logits = apply(pm.design, rms_norm(h, pm.output_norm, pm.config.rms_eps), pm.output)
    return (logits, Trace(tuple(hidden), tuple(kurts), tuple(raw))) if trace else logits
