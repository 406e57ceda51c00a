"""One matmul of the forward pass under a design: weights prepared once, activations per call.

``prepare(design, w)`` turns a file weight (QTensor or float32 (N, K)) into what the
design's datapath consumes: rotated along K (QuaRot: ``W -> W Q``), then quantized with the
design's weight format (quantize -> the format's exact codes); ``apply(design, x, p)``
rotates the activations the same way (``x -> x Q``, so ``x Q (W Q)^T = x W^T`` before
quantization), quantizes them and runs the datapath:

* ``float``: float32 matmul of the dequantized values (fake quantization).
* ``ggml``: ``simlow.lm.ggml_dot.block_dot`` with the activation type llama.cpp pairs with
  the weight type (Q8_1 for Q4_1, Q8_0 for Q4_0 / Q8_0).
* integer unit: ``simlow.lm.intmatmul.int_matmul_scaled`` on the symmetric integer codes,
  with the per-row / per-group float16 scales as the epilogue's scales.

Rotation matrices: ``hadamard`` is ``simlow.quant.rotations.hadamard_transform``; ``random``
the randomized Hadamard with signs from ``jax.random.PRNGKey(seed)`` (seed 0, one sign
vector per K size).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from simlow.errors import SimlowError
from simlow.lm.design import Design, Rotation
from simlow.lm.ggml_dot import block_dot, quantize_q8_1
from simlow.lm.intmatmul import int_matmul_scaled
from simlow.quant import QTensor, quantize
from simlow.quant.rotations import hadamard_transform, random_signs, randomized_hadamard

ROTATION_SEED = 0


@dataclass(frozen=True)
class Prepared:
    """A weight ready for the datapath: float values, a GGUF QTensor, or integer codes with
    per-row-group scales (N, G) float32."""

    values: jax.Array | None = None
    qtensor: QTensor | None = None
    codes: jax.Array | None = None
    scales: jax.Array | None = None


def rotate(design: Design, x) -> jax.Array:
    x = jnp.asarray(x, jnp.float32)
    if design.rotation is Rotation.HADAMARD:
        return hadamard_transform(x)
    if design.rotation is Rotation.RANDOM:
        return randomized_hadamard(x, random_signs(jax.random.PRNGKey(ROTATION_SEED), x.shape[-1]))
    return x


def _float(w) -> jax.Array:
    return w.dequantize() if isinstance(w, QTensor) else jnp.asarray(w, jnp.float32)


def _row_scales(q: QTensor, rows: int) -> jax.Array:
    return jnp.asarray(q.scales, jnp.float32).reshape(rows, -1)


def prepare(design: Design, w) -> Prepared:
    if design.weights == "gguf-native":
        if design.rotation is not Rotation.NONE:
            raise SimlowError(f"design {design.name}: gguf-native weights cannot be rotated")
        if design.datapath == "ggml":
            if not isinstance(w, QTensor) or w.format.name not in ("q4_0", "q4_1", "q8_0"):
                raise SimlowError(f"design {design.name}: the ggml datapath needs Q4_0/Q4_1/Q8_0 "
                                  f"weights, the file has {getattr(getattr(w, 'format', None), 'name', 'f32')}")
            return Prepared(qtensor=w)
        return Prepared(values=_float(w))
    wf = rotate(design, _float(w))
    if design.weights == "float":
        return Prepared(values=wf)
    q = quantize(wf, design.weights)
    if design.datapath == "ggml":
        return Prepared(qtensor=q)
    if design.unit is not None:
        return Prepared(codes=q.codes, scales=_row_scales(q, wf.shape[0]))
    return Prepared(values=q.dequantize())


def _matmul(x, w):
    return jnp.dot(x, w.T, precision=jax.lax.Precision.HIGHEST)


_matmul = jax.jit(_matmul)


def apply(design: Design, x, p: Prepared) -> jax.Array:
    """``x @ W.T`` under the design, x float32 (M, K)."""
    x = rotate(design, x)
    if p.qtensor is not None:
        if "min" in p.qtensor.aux:
            aq, ad, as_ = quantize_q8_1(x)
        else:
            q = quantize(x, "q8_0")
            aq, ad, as_ = q.codes, q.scales.reshape(x.shape[0], -1), None
        return block_dot(aq, ad, as_, p.qtensor)
    if p.codes is not None:
        q = quantize(x, design.activations)
        sa = _row_scales(q, x.shape[0])
        g = max(sa.shape[1], p.scales.shape[1])
        sa = jnp.repeat(sa, g // sa.shape[1], axis=1)
        sw = jnp.repeat(p.scales, g // p.scales.shape[1], axis=1)
        y, _ = int_matmul_scaled(design.unit, q.codes, p.codes, sa, sw)
        return y
    if design.activations != "float":
        x = quantize(x, design.activations).dequantize()
    return _matmul(x, p.values)
