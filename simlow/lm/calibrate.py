"""Weights put on a design's grid by GPTQ, AWQ or HQQ, with calibration from the model itself.

``prepare_design(model, design, ref_pm)`` is ``prepare_model`` for every weight method:

* ``rtn``: ``simlow.lm.forward.prepare_model`` (the format's own quantize).
* ``gptq`` / ``awq``: the float model (``ref_pm``) runs over the design's calibration tokens
  (``Design.calibration``: tokens ``start .. end`` of the shipped text
  ``workloads/text/kjv-genesis-1-5.txt``, tokenized with the file's BPE, in windows of
  ``ctx`` tokens starting at position 0, every token counted once); each matrix's input
  rows give ``H = X^T X`` and ``mean |x|`` per channel (float64). Layers are calibrated in
  sequence (``sequential``): a layer sees the residual stream of the quantized layers before it.
  GPTQ (``simlow.quant.gptq``) then quantizes every matrix and the output matrix; AWQ
  (``simlow.quant.awq``) searches one scale vector per shared input as the reference code
  does for Llama: q/k/v together, gate/up together, down alone; ``attn_output`` stays RTN
  (its scale would fold into ``attn_v``, whose output width 192 differs from its input 576
  under GQA, the case the reference skips), and so does the output matrix (tied to the
  embedding).
* rotation ``offq`` (any weight method rtn): the float model runs over the calibration
  tokens (the float stream, no layer quantized: OffQ calibrates activations, not weights);
  per layer and matmul input (``INPUTS``, and the output matrix's input) the OffQ direction is
  the top eigenvector of ``H = X^T X`` (float64; the top right singular vector of ``X``, as
  ``simlow.quant.offq.top_direction``, sign-fixed the same way) and the shared offset the mean
  of ``<v, x>`` over the rows (float32); every matrix is then prepared by
  ``simlow.lm.linear.prepare_offq`` with its input's OffQ (inner format: the design's
  activation format, per token).
* ``hqq``: ``simlow.quant.hqq`` on every matrix (no calibration), the grid ``int<b>_asym_g<n>``
  of the design read as HQQ's ``b``-bit, group ``n`` affine grid with a float16 zero
  (fractional, or integer with ``hqq_zero: integer``).

All weight-only, run on the float datapath as the dequantized values (AWQ's ``Q(W s)/s``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from simlow.errors import SimlowError
from simlow.lm.design import CALIBRATION_TEXT, Design, Rotation, WeightMethod
from simlow.lm.forward import INPUTS, PreparedModel, prepare_model, rms_norm, run_layer
from simlow.lm.gguf_load import MATRICES, LlamaFile, as_float
from simlow.lm.linear import Prepared, prepare, prepare_offq
from simlow.quant import get_format
from simlow.quant.awq import awq_search
from simlow.quant.gptq import gptq
from simlow.quant.hqq import HqqInt, hqq
from simlow.quant.offq import OffQ

AWQ_GROUPS = (("attn_q", "attn_k", "attn_v"), ("ffn_gate", "ffn_up"), ("ffn_down",))


@dataclass(frozen=True)
class InputStats:
    h: np.ndarray          # X^T X (K, K) float64
    mean_abs: np.ndarray   # mean |x| per channel (K,) float64
    rows: int
    mean: np.ndarray | None = None   # mean x per channel (K,) float64


def calibration_ids(model: LlamaFile, design: Design) -> list[int]:
    from gguf import GGUFReader

    from simlow.lm.tokenizer import Tokenizer

    cal = design.calibration
    ids = Tokenizer.from_gguf(model.path, GGUFReader(str(model.path))).encode(CALIBRATION_TEXT.read_text("utf-8"))
    if len(ids) < cal.end:
        raise SimlowError(f"design {design.name}: calibration tokens {cal.start}..{cal.end} run past the "
                          f"{len(ids)} tokens of {CALIBRATION_TEXT.name}")
    return ids[cal.start:cal.end]


def _accumulate(stats: dict, key, x) -> None:
    x = np.asarray(x, np.float64)
    h, m, n, t = stats.get(key, (0.0, 0.0, 0, 0.0))
    stats[key] = (h + x.T @ x, m + np.abs(x).sum(0), n + x.shape[0], t + x.sum(0))


def _stats(raw: dict) -> dict[str, InputStats]:
    return {k: InputStats(h, m / n, n, t / n) for k, (h, m, n, t) in raw.items()}


def sequential(ref_pm: PreparedModel, ids: list[int], ctx: int, quantize_layer, quantize_output):
    """Layer by layer, as the GPTQ and AWQ reference code: layer ``i``'s matmul inputs come
    from the float layer ``i`` run on the residual stream of the already-quantized layers
    ``< i``; ``quantize_layer(i, {input name: InputStats})`` returns the layer's
    {matrix: Prepared}, whose output feeds layer ``i + 1``; the output matrix is calibrated
    on the final norm of that stream. Returns (layers, output Prepared)."""
    cfg = ref_pm.config
    hs = [ref_pm.embedding[jnp.asarray(ids[s:s + ctx])] for s in range(0, len(ids), ctx)]
    layers = []
    for i, float_layer in enumerate(ref_pm.layers):
        raw: dict = {}
        for h in hs:
            for name, x in run_layer(ref_pm, float_layer, h, jnp.arange(h.shape[0]))[2].items():
                _accumulate(raw, name, x)
        mats = quantize_layer(i, _stats(raw))
        layers.append(mats)
        q_layer = {**float_layer, **mats}
        hs = [run_layer(ref_pm, q_layer, h, jnp.arange(h.shape[0]))[0] for h in hs]
    raw = {}
    for h in hs:
        _accumulate(raw, "output_in", rms_norm(h, ref_pm.output_norm, cfg.rms_eps))
    return tuple(layers), quantize_output(_stats(raw)["output_in"])


def _values(w) -> Prepared:
    return Prepared(values=jnp.asarray(np.asarray(w, np.float32)))


def _gptq_layer(layer, stats, fmt) -> dict:
    return {n: _values(gptq(as_float(layer[n]), stats[INPUTS[n]].h, fmt).dequantize()) for n in MATRICES}


def _awq_layer(design, layer, stats, fmt) -> dict:
    out = {"attn_output": prepare(design, layer["attn_output"])}
    for names in AWQ_GROUPS:
        st = stats[INPUTS[names[0]]]
        r = awq_search([np.asarray(as_float(layer[n]), np.float32) for n in names], st.h, st.mean_abs, fmt)
        out.update({n: _values(r.effective(j)) for j, n in enumerate(names)})
    return out


def _hqq(w, fmt) -> Prepared:
    return _values(hqq(np.asarray(as_float(w), np.float32), fmt)[0].dequantize())


def offq_from_stats(st: InputStats, inner) -> OffQ:
    """The OffQ of one matmul input from its calibration statistics (see the module doc)."""
    _, vecs = np.linalg.eigh(st.h)
    v = vecs[:, -1]
    v = v if v[np.argmax(np.abs(v))] > 0 else -v
    return OffQ(tuple(float(e) for e in v), float(np.float32(v @ st.mean)), inner, name="offq")


def _prepare_offq(model: LlamaFile, design: Design, ref_pm: PreparedModel) -> PreparedModel:
    inner = get_format(design.activations)
    fitted: list[dict] = []

    def fit_layer(i, stats):
        fitted.append({k: offq_from_stats(st, inner) for k, st in stats.items()})
        return {}                                        # the float stream: nothing quantized

    _, out_offq = sequential(ref_pm, calibration_ids(model, design), design.calibration.ctx, fit_layer,
                             lambda st: offq_from_stats(st, inner))
    layers = tuple({n: prepare_offq(design, layer[n], fitted[i][INPUTS[n]]) for n in MATRICES}
                   for i, layer in enumerate(model.layers))
    return prepare_model(model, design, (layers, prepare_offq(design, model.output, out_offq)))


def prepare_design(model: LlamaFile, design: Design, ref_pm: PreparedModel) -> PreparedModel:
    """The model under ``design``, whatever its weight method (see the module docstring)."""
    if design.rotation is Rotation.OFFQ:
        return _prepare_offq(model, design, ref_pm)
    if design.method is WeightMethod.RTN:
        return prepare_model(model, design)
    fmt = get_format(design.weights)
    if design.method is WeightMethod.HQQ:
        hfmt = HqqInt(fmt.bits, fmt.group, zero=design.hqq_zero)
        return prepare_model(model, design, (tuple({n: _hqq(layer[n], hfmt) for n in MATRICES} for layer in model.layers),
                                             _hqq(model.output, hfmt)))
    ids = calibration_ids(model, design)
    if design.method is WeightMethod.GPTQ:
        weights = sequential(ref_pm, ids, design.calibration.ctx,
                             lambda i, st: _gptq_layer(model.layers[i], st, fmt),
                             lambda st: _values(gptq(as_float(model.output), st.h, fmt).dequantize()))
    else:
        weights = sequential(ref_pm, ids, design.calibration.ctx,
                             lambda i, st: _awq_layer(design, model.layers[i], st, fmt),
                             lambda st: prepare(design, model.output))
    return prepare_model(model, design, weights)


def calibration_note(design: Design) -> dict | None:
    cal = design.calibration
    if cal is None:
        return None
    stream = ("float model (offq fits activations)" if design.rotation is Rotation.OFFQ
              else "sequential: float layer i on the stream of quantized layers < i")
    return {"text": f"workloads/text/{CALIBRATION_TEXT.name}", "tokens": [cal.start, cal.end], "ctx": cal.ctx,
            "activations": stream}


def check_disjoint(design: Design, text, n_tokens: int) -> None:
    """Refuse an evaluation whose tokens of the shipped text overlap the calibration tokens."""
    cal = design.calibration
    if cal is None or text is None or Path(text).resolve() != CALIBRATION_TEXT.resolve():
        return
    if n_tokens > cal.start:
        raise SimlowError(f"design {design.name} is calibrated on tokens {cal.start}..{cal.end} of "
                          f"{CALIBRATION_TEXT.name}; evaluate on at most its first {cal.start} tokens "
                          f"(--n-tokens {n_tokens} overlaps)")
