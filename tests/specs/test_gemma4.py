"""Gemma 4: the full-attention layers' own shape (4 KV heads of 512, K = V) beside the
sliding-window layers' (16 KV heads of 256, 1024-token window), counted by hand from the
google/gemma-4-31B-it config against the published 30.7 B, and the cache per layer kind."""

from __future__ import annotations

import json

import pytest

from simlow import formats
from simlow.errors import SimlowError
from simlow.specs import load_model, load_scheme
from simlow.specs.hf import read_hf_config
from simlow.specs.tensors import param_count, weight_tensors
from simlow.workload.graph import build_graph
from simlow.workload.op import Phase

# google/gemma-4-31B-it config.json (text_config keys that matter)
TYPES = (["sliding_attention"] * 5 + ["full_attention"]) * 10
GEMMA4_31B = {"model_type": "gemma4", "tie_word_embeddings": True, "text_config": {
    "model_type": "gemma4_text", "attention_bias": False, "attention_k_eq_v": True, "enable_moe_block": False,
    "global_head_dim": 512, "head_dim": 256, "hidden_size": 5376, "hidden_size_per_layer_input": 0,
    "intermediate_size": 21504, "layer_types": TYPES, "max_position_embeddings": 262144,
    "num_attention_heads": 32, "num_experts": None, "num_global_key_value_heads": 4, "num_hidden_layers": 60,
    "num_key_value_heads": 16, "num_kv_shared_layers": 0, "sliding_window": 1024, "tie_word_embeddings": True,
    "use_double_wide_mlp": False, "vocab_size": 262144, "vocab_size_per_layer_input": 262144}}


def _write(tmp_path, cfg):
    (tmp_path / "g4").mkdir(exist_ok=True)
    (tmp_path / "g4" / "config.json").write_text(json.dumps(cfg))
    return tmp_path / "g4" / "config.json"


def test_count_by_hand_and_published():
    h, f, V = 5376, 21504, 262144
    local = h * 32 * 256 * 2 + 2 * h * 16 * 256 + 2 * 256        # q, o; k, v; q/k norms
    glob = h * 32 * 512 * 2 + h * 4 * 512 + 2 * 512               # q, o; k only (K = V)
    total = 50 * local + 10 * glob + 60 * (3 * h * f + 4 * h) + V * h + h
    m = load_model("gemma-4-31b")
    assert param_count(m) == total
    assert abs(total - 30.7e9) <= 0.05e9                          # published 30.7 B (text model)
    assert not [t for t in weight_tensors(m) if t.name == "blk.5.attn_v"]
    assert [t.rows for t in weight_tensors(m) if t.name in ("blk.4.attn_k", "blk.5.attn_k")] == [4096, 2048]


def test_cache_per_layer_kind():
    m, f16 = load_model("gemma-4-31b"), formats.get("f16")
    assert m.kv_token_bytes(f16, 0) == 2 * 16 * 256 * 2 and m.kv_token_bytes(f16, 5) == 2 * 4 * 512 * 2
    ctx = 100_000
    assert m.kv_bytes(f16, ctx) == 50 * 1024 * 2 * 16 * 256 * 2 + 10 * ctx * 2 * 4 * 512 * 2


def test_decode_attention_uses_each_layer_shape():
    m = load_model("gemma-4-31b")
    g = build_graph(m, load_scheme("f16"), Phase(1, 1, 4095))
    att = {op.layers[0] % 6: op for op in g.ops if op.name.endswith(".attention")}
    assert att[0].flops == 1024 * 32 * (4 * 256 + 5) and att[5].flops == 4096 * 32 * (4 * 512 + 5)
    assert att[5].kv_read == 4096 * 2 * 4 * 512 * 2


def test_config_reads_as_the_yaml(tmp_path):
    m, ref = read_hf_config(_write(tmp_path, GEMMA4_31B)), load_model("gemma-4-31b")
    assert param_count(m) == param_count(ref)
    assert (m.sliding_window, m.global_attention, m.tied_embeddings) == \
        (ref.sliding_window, ref.global_attention, ref.tied_embeddings)


@pytest.mark.parametrize("key,value", [("num_kv_shared_layers", 20), ("hidden_size_per_layer_input", 256),
                                       ("enable_moe_block", True), ("use_double_wide_mlp", True)])
def test_unrepresented_gemma4_features_are_refused(tmp_path, key, value):
    cfg = {**GEMMA4_31B, "text_config": {**GEMMA4_31B["text_config"], key: value}}
    with pytest.raises(SimlowError, match=rf"config\.json: text_config\.{key}: .*not represented"):
        read_hf_config(_write(tmp_path, cfg))
