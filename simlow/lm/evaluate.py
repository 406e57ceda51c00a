"""Evaluate a design on a real model: quality against the float reference beside speed and energy.

``evaluate_design(model_file, design, tokens=... | text=..., n_tokens, ctx)``: the token
stream (the first ``n_tokens`` of it) is cut into windows of ``ctx`` tokens with stride
``ctx // 2`` (each window restarts at position 0); the first window scores every
prediction, later ones only their last ``stride`` predictions, so every target after the
first token is scored once with at least ``ctx // 2`` tokens of context (except in the
first window); ``stride`` changes the stride (at most ``ctx - 1``: windows that overlap by
one token). The float design (``float.yaml``) runs on the same windows as the reference.

Metrics: ``perplexity`` = exp(mean NLL of the targets) under the design,
``reference_perplexity`` the same under the float reference, ``kl_mean`` = mean over
scored positions of KL(reference || design) in nats, ``top1_agreement`` = share of scored
positions whose argmax agrees; per layer the output SQNR in dB of the residual stream
(10 log10 sum ref^2 / sum (ref - design)^2 over all window positions; null when equal) and the mean
per-token kurtosis of the attention input after the design's rotation (``layer_kurtosis``)
and before it (``layer_kurtosis_unrotated``).
``decode_tok_s`` / ``prefill_tok_s`` / ``energy_j_per_token`` come from ``simlow.predict``
of the design's scheme on its hardware for the model read from the same file header (batch
1, prompt 512, gen 128), or are the text "not available" when the design names no scheme;
``area_mm2`` is there when the hardware is a shipped NPU design (``simlow.npu.shipped``).
GPTQ/AWQ designs calibrate on tokens of the shipped text (``calibration`` in the result says
which); an evaluation on that text must stay before them (``check_disjoint``).
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from simlow.errors import SimlowError
from simlow.lm.calibrate import calibration_note, check_disjoint, prepare_design
from simlow.lm.design import Design, load_design
from simlow.lm.forward import forward, prepare_model
from simlow.lm.gguf_load import load_gguf, smollm2_path
from simlow.lm.tokenizer import Tokenizer, read_token_file

NOT_AVAILABLE = "not available"


def windows(n: int, ctx: int, stride: int | None = None) -> list[tuple[int, int, int]]:
    """(start, end, first scored target) of each window over ``n`` tokens (stride default
    ``ctx // 2``, at most ``ctx - 1``: a window's first target needs one token of context)."""
    if n < 2:
        raise SimlowError(f"need at least 2 tokens to score, got {n}")
    ctx = min(ctx, n)
    stride = max(1, ctx // 2) if stride is None else stride
    if not 1 <= stride <= max(1, ctx - 1):
        raise SimlowError(f"the stride must be 1..ctx-1 ({ctx - 1}), got {stride}")
    out, scored = [(0, ctx, 1)], ctx
    while scored < n:
        end = min(scored + stride, n)
        out.append((end - ctx, end, scored))
        scored = end
    return out


@jax.jit
def _window_stats(ref_logits, logits, targets):
    lr, ld = jax.nn.log_softmax(ref_logits, -1), jax.nn.log_softmax(logits, -1)
    nll_d = -jnp.take_along_axis(ld, targets[:, None], -1)[:, 0]
    nll_r = -jnp.take_along_axis(lr, targets[:, None], -1)[:, 0]
    kl = jnp.sum(jnp.exp(lr) * (lr - ld), -1)
    agree = jnp.argmax(ref_logits, -1) == jnp.argmax(logits, -1)
    return nll_d.sum(), nll_r.sum(), kl.sum(), agree.sum()


def _tokens(path: Path, reader, tokens, text, n_tokens: int, vocab: int) -> list[int]:
    if (tokens is None) == (text is None):
        raise SimlowError("give exactly one of a token file or a text file")
    if tokens is not None:
        ids = read_token_file(tokens, vocab) if isinstance(tokens, (str, Path)) else [int(t) for t in tokens]
    else:
        try:
            body = Path(text).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise SimlowError(f"{text}: cannot read as UTF-8 text ({err})") from None
        ids = Tokenizer.from_gguf(path, reader).encode(body)
    if len(ids) < n_tokens:
        raise SimlowError(f"the input has {len(ids)} tokens, fewer than --n-tokens {n_tokens}")
    return ids[:n_tokens]


def speed_of(path: Path, design: Design) -> dict:
    """Speed, energy and (NPU designs) area of ``design`` on its hardware (module docstring)."""
    area = _npu_area(design.hardware)
    if design.scheme is None:
        return {"decode_tok_s": NOT_AVAILABLE, "prefill_tok_s": NOT_AVAILABLE,
                "energy_j_per_token": NOT_AVAILABLE, **area}
    from simlow.sim import predict
    from simlow.specs.gguf_header import read_gguf_model

    try:
        p = predict(read_gguf_model(path), design.hardware, scheme=design.scheme, kv_scheme=design.kv_scheme,
                    stack=design.stack, batch=1, prompt=512, gen=128)
    except SimlowError as err:
        why = f"{NOT_AVAILABLE}: {str(err).split(' (it runs')[0]}"
        return {"decode_tok_s": why, "prefill_tok_s": why, "energy_j_per_token": why, **area}
    return {"decode_tok_s": p.decode_tok_s, "prefill_tok_s": p.prefill_tok_s,
            "energy_j_per_token": p.energy_j_per_token, **area,
            "speed_source": f"simlow.predict roofline, scheme {design.scheme}, kv {design.kv_scheme} on {design.hardware}, "
                            f"stack {design.stack or 'the hardware default'}, "
                            "batch 1, prompt 512, gen 128"}


def _npu_area(hardware: str) -> dict:
    """``area_mm2`` (the design's total, DRAM PHY included) when ``hardware`` names a
    shipped NPU design (``simlow.npu.shipped``); nothing for a bought device."""
    from simlow.npu.design import evaluate
    from simlow.npu.shipped import SHIPPED

    if hardware not in SHIPPED:
        return {}
    return {"area_mm2": evaluate(SHIPPED[hardware]).total_area_mm2,
            "area_source": f"simlow.npu.design.evaluate of the shipped NPU design {hardware}"}


def run_windows(ref_pm, pm, ids: list[int], ctx: int, n_layers: int | None = None,
                stride: int | None = None) -> dict:
    """The quality metrics of ``pm`` against ``ref_pm`` over the windows of ``ids``."""
    sums = np.zeros(4)
    count = 0
    sig = noise = None
    kurts, raws = [], []
    for start, end, first in windows(len(ids), ctx, stride):
        win = ids[start:end]
        ref, rtrace = forward(ref_pm, win, n_layers, trace=True)
        out, trace = forward(pm, win, n_layers, trace=True)
        lo = first - start - 1                       # logits row predicting target `first`
        targets = jnp.asarray(win[lo + 1:], jnp.int32)
        sums += np.asarray([float(v) for v in _window_stats(ref[lo:-1], out[lo:-1], targets)])
        count += len(win) - lo - 1
        s = np.asarray([float(jnp.sum(r * r)) for r in rtrace.hidden])
        e = np.asarray([float(jnp.sum((r - o) ** 2)) for r, o in zip(rtrace.hidden, trace.hidden)])
        sig, noise = (s, e) if sig is None else (sig + s, noise + e)
        kurts.append(trace.kurtosis)
        raws.append(trace.kurtosis_unrotated)
    sqnr = [None if e == 0 else 10 * math.log10(s / e) for s, e in zip(sig, noise)]
    return {"n_scored": count, "perplexity": math.exp(sums[0] / count),
            "reference_perplexity": math.exp(sums[1] / count), "kl_mean": sums[2] / count,
            "top1_agreement": sums[3] / count, "layer_sqnr_db": sqnr,
            "layer_kurtosis": [float(k) for k in np.mean(np.asarray(kurts), axis=0)],
            "layer_kurtosis_unrotated": [float(k) for k in np.mean(np.asarray(raws), axis=0)]}


def evaluate_design(design, model_file=None, tokens=None, text=None, n_tokens: int = 256,
                    ctx: int = 256, n_layers: int | None = None, stride: int | None = None) -> dict:
    """The JSON-ready evaluation of ``design`` (see the module docstring)."""
    design = load_design(design)
    model, ids = load_inputs(model_file, tokens, text, n_tokens)
    check_disjoint(design, text, n_tokens)
    return evaluate_loaded(model, design, ids, ctx, n_layers, stride)


def load_inputs(model_file=None, tokens=None, text=None, n_tokens: int = 256):
    """The loaded model file (default SmolLM2-135M) and the first ``n_tokens`` token ids of
    ``tokens`` (a file or list of ids) or ``text`` (a file, tokenized with the file's BPE)."""
    from gguf import GGUFReader

    path = Path(model_file) if model_file is not None else smollm2_path()
    if not path.is_file():
        raise SimlowError(f"{path}: model file not found")
    for kind, given in (("--tokens", tokens), ("--text", text)):
        if isinstance(given, (str, Path)) and not Path(given).is_file():
            raise SimlowError(f"{kind} {given}: file not found")
    reader = GGUFReader(str(path))
    model = load_gguf(path, reader)
    return model, _tokens(path, reader, tokens, text, n_tokens, model.config.vocab)


def evaluate_loaded(model, design: Design, ids: list[int], ctx: int = 256, n_layers: int | None = None,
                    stride: int | None = None) -> dict:
    """``evaluate_design`` on an already loaded ``LlamaFile`` and token ids."""
    ref_pm = prepare_model(model, load_design("float"))
    pm = ref_pm if design.name == "float" else prepare_design(model, design, ref_pm)
    return {"design": design.name, "model_file": model.path.name, "n_tokens": len(ids), "ctx": ctx,
            "layers_run": n_layers or model.config.n_layers, "weight_method": design.method.value,
            "calibration": calibration_note(design),
            **run_windows(ref_pm, pm, ids, ctx, n_layers, stride), **speed_of(model.path, design)}
