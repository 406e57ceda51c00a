"""Measurements on real activations of the float model, for the seeds' accuracy claims.

All run the float reference (``float`` design) over one window of token ids (positions
0..T-1) and read the tensors ``simlow.lm.forward`` computes:

* ``residual_kurtosis(ref_pm, ids)``: of the embedding and, per layer, the mean per-token kurtosis
  ``E[(h-mu)^4] / var^2`` over the channels of the residual stream ``h`` after the layer
  (``forward.kurtosis``; 3 for a Gaussian).
* ``offq_std(ref_pm, fit_ids, eval_ids)``: per layer and matmul input (``forward.INPUTS``),
  OffQ (``simlow.quant.offq.fit``) fitted on the activations of ``fit_ids``; on the
  activations ``X`` of ``eval_ids`` (held out) and of ``fit_ids`` (in-sample), the
  reduction ``1 - std(Z[:, 1:]) / std(X)`` of the standard deviation (over all entries,
  float64) of the d - 1 channels left after the reflection ``Z = H X`` moves the top
  direction onto channel 0 (the channel OffQ absorbs into a shared offset).
* ``kv_attention_error(ref_pm, design, ids)``: per layer, the relative L2 error
  ``||A(q, K~, V~) - A(q, K, V)|| / ||A(q, K, V)||`` of the attention output when the
  float model's own k (after rope) and v go through ``design``'s KV-cache format (q, the
  softmax and everything else float32); each layer's input is the float residual stream.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from simlow.lm.design import Design
from simlow.lm.forward import PreparedModel, attention, forward, kurtosis, kv_cache, qkv, rms_norm, run_layer
from simlow.quant import offq


def _layer_walk(pm: PreparedModel, ids):
    """(layer, residual stream into it, positions, matmul inputs) for each layer."""
    tokens = jnp.asarray(np.asarray(ids, np.int32))
    pos = jnp.arange(tokens.shape[0], dtype=jnp.int32)
    h = pm.embedding[tokens]
    for layer in pm.layers:
        h_next, _, inputs = run_layer(pm, layer, h, pos)
        yield layer, h, pos, inputs
        h = h_next


def residual_kurtosis(ref_pm: PreparedModel, ids) -> tuple[float, list[float]]:
    """(kurtosis of the embedding rows that enter the stream, per layer after it)."""
    _, trace = forward(ref_pm, ids, trace=True)
    emb = ref_pm.embedding[jnp.asarray(np.asarray(ids, np.int32))]
    return float(kurtosis(emb)), [float(kurtosis(h)) for h in trace.hidden]


def _reduction(fitted, x: np.ndarray) -> float:
    z = np.asarray(fitted.rotate(x), np.float64)
    return 1.0 - float(z[:, 1:].std() / np.asarray(x, np.float64).std())


def offq_std(ref_pm: PreparedModel, fit_ids, eval_ids) -> dict[str, list[dict[str, float]]]:
    """{input name: per layer {"held_out": reduction, "in_sample": reduction}}."""
    out: dict[str, list[dict[str, float]]] = {}
    for (_, _, _, fit_in), (_, _, _, eval_in) in zip(_layer_walk(ref_pm, fit_ids), _layer_walk(ref_pm, eval_ids)):
        for name, x_fit in fit_in.items():
            fitted = offq.fit(x_fit)
            out.setdefault(name, []).append({"held_out": _reduction(fitted, np.asarray(eval_in[name])),
                                             "in_sample": _reduction(fitted, np.asarray(x_fit))})
    return out


def kv_attention_error(ref_pm: PreparedModel, design: Design, ids) -> list[float]:
    errs = []
    for layer, h, pos, _ in _layer_walk(ref_pm, ids):
        x = rms_norm(h, layer["attn_norm"], ref_pm.config.rms_eps)
        q, k, v = qkv(ref_pm, layer, x, pos)
        ref = np.asarray(attention(q, k, v), np.float64)
        got = np.asarray(attention(q, kv_cache(design, k), kv_cache(design, v)), np.float64)
        errs.append(float(np.linalg.norm(got - ref) / np.linalg.norm(ref)))
    return errs
