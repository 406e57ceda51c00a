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
* shift-add unit: ``simlow.lm.shiftadd_jax.pot_matmul`` of the per-token activation codes
  with the ``pot<b>`` weight terms; output ``((acc * 2**-frac_bits) * a_scale) * alpha``
  (float32, in that order; the first product is exact).
  ``orp<b>`` weights (PoT + PoT of the Hadamard-rotated residual, ``simlow.quant.pot``)
  run two passes of the same unit: the PoT codes on the activation codes of ``x``, the
  residual's PoT codes on the activation codes of ``hadamard_transform(x)`` (quantized per
  token in the design's activation format, its own scales), since ``x (R~ H)^T = (x H^T) R~^T``.
  Float epilogue: ``y1 + y2`` (float32), each ``y_i`` the one-pass epilogue above.
* ternary tree: ``simlow.lm.ternary_jax.tree_matmul`` of BitNet's activation and ternary
  weight codes; output ``(acc / s_a) / s_w`` (float32; BitNet's scales are reciprocal).

OffQ (``rotation: offq``, ``prepare_offq`` with the ``simlow.quant.offq.OffQ`` fitted for the
matrix's input by ``simlow.lm.calibrate``): the weight is reflected ``W -> W H`` (``H`` the
OffQ Householder reflection, symmetric and orthogonal, so ``(H x)(W H)^T = x W^T``) and
quantized whole in the weight format; at run time ``z = H x``, channel 0 of ``z`` is replaced
by the fitted shared offset ``c`` and channels ``1..`` are quantized per token in the
activation format. The datapath (float: the dequantized values; integer unit: the exact
integer matmul) runs on channels ``1..`` and the float32 epilogue adds the constant bias
``c * (W H)~[:, 0]`` (column 0 of the quantized reflected weight, dequantized): ``y = core + bias``.

Rotation matrices: ``hadamard`` is ``simlow.quant.rotations.hadamard_transform``; ``random``
the randomized Hadamard with signs from ``jax.random.PRNGKey(seed)`` (seed 0, one sign
vector per K size).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from simlow.errors import SimlowError
from simlow.lm.design import Datapath, Design, Rotation
from simlow.lm.ggml_dot import block_dot, quantize_q8_1
from simlow.datapath import ShiftAddUnit, TernaryTreeUnit, shiftadd
from simlow.lm.intmatmul import int_matmul_scaled
from simlow.lm.shiftadd_jax import int_weights, pot_matmul
from simlow.lm.ternary_jax import tree_matmul
from simlow.quant import QTensor, get_format, quantize
from simlow.quant._exact import true_div
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
    pot: object | None = None          # shiftadd PreparedPot (K, N) for a shift-add unit
    pot_w32: jax.Array | None = None   # its stacked int32 weights
    ternary: np.ndarray | None = None  # ternary weight codes (K, N) for the ternary tree
    residual: Prepared | None = None   # orp: the residual pass (pot, pot_w32, scales) on H x
    offq: object | None = None         # rotation offq: the fitted OffQ of this matrix's input
    bias: jax.Array | None = None      # rotation offq: c * column 0 of the quantized W H, (N,) float32


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


def prepare_offq(design: Design, w, offq) -> Prepared:
    """A weight under ``rotation: offq`` with the OffQ fitted for its input (see the module doc)."""
    q = quantize(offq.rotate(_float(w)), design.weights)
    deq = jnp.asarray(q.dequantize(), jnp.float32)
    bias = jnp.float32(offq.offset) * deq[:, 0]
    if design.unit is not None:
        return Prepared(codes=jnp.asarray(q.codes)[:, 1:], scales=_row_scales(q, deq.shape[0]), offq=offq, bias=bias)
    return Prepared(values=deq[:, 1:], offq=offq, bias=bias)


def prepare(design: Design, w) -> Prepared:
    if design.weights == "gguf-native":
        if design.rotation is not Rotation.NONE:
            raise SimlowError(f"design {design.name}: gguf-native weights cannot be rotated")
        if design.datapath is Datapath.GGML:
            if not isinstance(w, QTensor) or w.format.name not in ("q4_0", "q4_1", "q8_0"):
                raise SimlowError(f"design {design.name}: the ggml datapath needs Q4_0/Q4_1/Q8_0 "
                                  f"weights, the file has {getattr(getattr(w, 'format', None), 'name', 'f32')}")
            return Prepared(qtensor=w)
        return Prepared(values=_float(w))
    if design.rotation is Rotation.OFFQ:
        raise SimlowError(f"design {design.name}: rotation offq needs the OffQ fitted for each input "
                          f"(simlow.lm.calibrate.prepare_design)")
    wf = rotate(design, _float(w))
    if design.weights == "float":
        return Prepared(values=wf)
    q = quantize(wf, design.weights)
    if design.datapath is Datapath.GGML:
        return Prepared(qtensor=q)
    if isinstance(design.unit, ShiftAddUnit):
        if "residual_codes" in q.aux:      # orp<b>: its two pot<b> codes
            pot = get_format(f"pot{q.format.bits}")
            base, res = (QTensor(q.codes, q.scales, pot, q.shape),
                         QTensor(q.aux["residual_codes"], q.aux["residual_scales"], pot, q.shape))
            return dataclasses.replace(_prepare_pot(design.unit, base), residual=_prepare_pot(design.unit, res))
        return _prepare_pot(design.unit, q)
    if isinstance(design.unit, TernaryTreeUnit):
        return Prepared(scales=jnp.asarray(q.scales, jnp.float32).reshape(1, 1),
                        ternary=np.ascontiguousarray(np.asarray(q.codes, np.int8).T))
    if design.unit is not None:
        return Prepared(codes=q.codes, scales=_row_scales(q, wf.shape[0]))
    return Prepared(values=q.dequantize())


def _prepare_pot(unit: ShiftAddUnit, q: QTensor) -> Prepared:
    """``pot<b>`` codes ``c`` (N, K) as shift-add terms (K, N): sign ``sign(c)``, exponent
    ``|c| - top`` with ``top = 2**(b-1) - 1`` (level ``|c|`` of the ascending table
    ``simlow.quant.pot.pot_levels`` is ``2**(|c| - top)``); alpha (1, N) float32."""
    top = len(q.format.levels) - 1
    if any(q.format.levels[i] != 2.0 ** (i - top) for i in range(1, top + 1)):
        raise SimlowError(f"{q.format.name}: not a power-of-two level table")
    c = np.asarray(q.codes, np.int64).T
    sign, exp = np.sign(c), np.where(c != 0, np.abs(c) - top, 0)
    prep = shiftadd.prepare(unit, (sign, exp))
    return Prepared(scales=jnp.asarray(q.scales, jnp.float32).reshape(1, -1), pot=prep, pot_w32=int_weights(prep))


@jax.jit
def _ternary_epilogue(acc, a_inv_scale, w_inv_scale):
    # two IEEE divisions; the barrier keeps XLA from folding (x / a) / w into x / (a * w)
    return true_div(jax.lax.optimization_barrier(true_div(acc.astype(jnp.float32), a_inv_scale)), w_inv_scale)


@jax.jit
def _pot_epilogue(acc, frac_scale, a_scale, w_scale):
    return (acc.astype(jnp.float32) * frac_scale) * a_scale * w_scale


@jax.jit
def _add(a, b):
    return a + b


def _pot_pass(design: Design, x, p: Prepared) -> jax.Array:
    """One pass of the shift-add unit on the per-token activation codes of ``x``, with its epilogue."""
    q = quantize(x, design.activations)
    acc, _, _ = pot_matmul(design.unit, np.asarray(q.codes), p.pot, p.pot_w32)
    return _pot_epilogue(acc, jnp.float32(2.0 ** -design.unit.frac_bits), _row_scales(q, x.shape[0]), p.scales)


def _apply_offq(design: Design, x, p: Prepared) -> jax.Array:
    """Channels 1.. of ``H x`` through the activation format and the datapath, plus the offset's bias."""
    z = p.offq.rotate(jnp.asarray(x, jnp.float32))[:, 1:]
    q = quantize(z, design.activations)
    if p.codes is None:
        return _add(_matmul(q.dequantize(), p.values), p.bias)
    y, _ = int_matmul_scaled(design.unit, q.codes, p.codes, _row_scales(q, z.shape[0]), p.scales)
    return _add(y, p.bias)


def _matmul(x, w):
    return jnp.dot(x, w.T, precision=jax.lax.Precision.HIGHEST)


_matmul = jax.jit(_matmul)


def apply(design: Design, x, p: Prepared) -> jax.Array:
    """``x @ W.T`` under the design, x float32 (M, K)."""
    if p.offq is not None:
        return _apply_offq(design, x, p)
    x = rotate(design, x)
    if p.pot is not None:
        y = _pot_pass(design, x, p)
        if p.residual is None:
            return y
        return _add(y, _pot_pass(design, hadamard_transform(x), p.residual))
    if p.ternary is not None:
        q = quantize(x, design.activations)
        acc, _, _ = tree_matmul(design.unit, np.asarray(q.codes), p.ternary)
        return _ternary_epilogue(acc, jnp.asarray(q.scales, jnp.float32).reshape(-1, 1), p.scales)
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
