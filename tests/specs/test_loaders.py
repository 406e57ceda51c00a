"""Loaders: Hugging Face config.json and GGUF headers give the same shapes as the YAML specs.

The config.json files below carry the real configs' values (the keys that matter) of the
Hugging Face repositories named in each model YAML; the GGUF test writes a small file with
``gguf.GGUFWriter`` (real metadata keys, quantized tensors) and reads it back.
"""

import json

import numpy as np
import pytest
from gguf import GGMLQuantizationType as Q, GGUFWriter
from gguf.quants import quant_shape_to_byte_shape, quantize

from simlow.errors import SimlowError
from simlow.formats import from_gguf_type
from simlow.specs import load_model
from simlow.specs.gguf_header import gguf_summary, gguf_tensors, read_gguf_model
from simlow.specs.hf import read_hf_config
from simlow.specs.tensors import param_count

LLAMA2_7B = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32,
             "num_hidden_layers": 32, "num_key_value_heads": 32, "max_position_embeddings": 4096,
             "vocab_size": 32000, "tie_word_embeddings": False, "attention_bias": False,
             "_name_or_path": "meta-llama/Llama-2-7b-hf"}
CONFIGS = {
    "llama-2-7b": LLAMA2_7B,
    "mistral-7b": {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336,
                   "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
                   "max_position_embeddings": 32768, "vocab_size": 32000, "sliding_window": 4096,
                   "tie_word_embeddings": False},
    "mixtral-8x7b": {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336,
                     "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
                     "max_position_embeddings": 32768, "vocab_size": 32000, "num_local_experts": 8,
                     "num_experts_per_tok": 2, "sliding_window": None, "tie_word_embeddings": False},
    "qwen2.5-coder-7b": {"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944,
                         "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
                         "max_position_embeddings": 32768, "vocab_size": 152064, "sliding_window": 131072,
                         "use_sliding_window": False, "tie_word_embeddings": False},
    "qwen3-32b": {"model_type": "qwen3", "hidden_size": 5120, "intermediate_size": 25600, "head_dim": 128,
                  "num_attention_heads": 64, "num_hidden_layers": 64, "num_key_value_heads": 8,
                  "max_position_embeddings": 40960, "vocab_size": 151936, "use_sliding_window": False,
                  "sliding_window": None, "tie_word_embeddings": False, "attention_bias": False},
    "qwen3-30b-a3b": {"model_type": "qwen3_moe", "hidden_size": 2048, "intermediate_size": 6144,
                      "head_dim": 128, "num_attention_heads": 32, "num_hidden_layers": 48,
                      "num_key_value_heads": 4, "max_position_embeddings": 40960, "vocab_size": 151936,
                      "num_experts": 128, "num_experts_per_tok": 8, "moe_intermediate_size": 768,
                      "decoder_sparse_step": 1, "mlp_only_layers": [], "tie_word_embeddings": False},
    "gemma-2-9b": {"model_type": "gemma2", "hidden_size": 3584, "intermediate_size": 14336, "head_dim": 256,
                   "num_attention_heads": 16, "num_hidden_layers": 42, "num_key_value_heads": 8,
                   "max_position_embeddings": 8192, "vocab_size": 256000, "sliding_window": 4096},
    "gpt-oss-20b": {"model_type": "gpt_oss", "hidden_size": 2880, "intermediate_size": 2880, "head_dim": 64,
                    "num_attention_heads": 64, "num_hidden_layers": 24, "num_key_value_heads": 8,
                    "max_position_embeddings": 131072, "vocab_size": 201088, "num_local_experts": 32,
                    "experts_per_token": 4, "sliding_window": 128, "tie_word_embeddings": False,
                    "layer_types": ["sliding_attention", "full_attention"] * 12},
}


def _write(tmp_path, name, cfg):
    d = tmp_path / name
    d.mkdir()
    (d / "config.json").write_text(json.dumps(cfg))
    return d / "config.json"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_hf_config_matches_yaml_spec(tmp_path, name):
    m = read_hf_config(_write(tmp_path, name, CONFIGS[name]))
    ref = load_model(name)
    assert param_count(m) == param_count(ref)
    assert (m.kv_dim, m.moe, m.sliding_window) == (ref.kv_dim, ref.moe, ref.sliding_window)
    assert m.name == name


def test_hf_config_via_load_model(tmp_path):
    assert param_count(load_model(_write(tmp_path, "x", LLAMA2_7B))) == 6_738_415_616


@pytest.mark.parametrize("change,key", [
    ({"model_type": "mamba"}, "model_type"),
    ({"hidden_size": "4096"}, "hidden_size"),
    ({"num_key_value_heads": 5}, "num_key_value_heads"),
])
def test_hf_config_bad_input(tmp_path, change, key):
    with pytest.raises(SimlowError, match=rf"config\.json: {key}"):
        read_hf_config(_write(tmp_path, "bad", {**LLAMA2_7B, **change}))


def test_hf_config_missing_key(tmp_path):
    cfg = dict(LLAMA2_7B)
    del cfg["vocab_size"]
    with pytest.raises(SimlowError, match=r"config\.json: vocab_size: missing"):
        read_hf_config(_write(tmp_path, "bad", cfg))


# -- GGUF -------------------------------------------------------------------------------------

H, FF, L, V, NH, NKV = 256, 512, 2, 320, 4, 2


def _tiny_gguf(path, tied=False):
    """A 2-layer llama GGUF with real metadata keys and Q4_0 / Q8_0 / Q4_K / Q6_K tensors."""
    rng = np.random.default_rng(0)
    w = GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama")
    w.add_context_length(128)
    w.add_embedding_length(H)
    w.add_feed_forward_length(FF)
    w.add_block_count(L)
    w.add_head_count(NH)
    w.add_head_count_kv(NKV)
    w.add_layer_norm_rms_eps(1e-5)

    def add(name, rows, cols, qtype):
        x = rng.standard_normal((rows, cols)).astype(np.float32)
        if qtype is Q.F32:
            w.add_tensor(name, x.reshape(-1) if rows == 1 else x)
        elif qtype is Q.F16:
            w.add_tensor(name, x.astype(np.float16))
        elif qtype in (Q.Q4_0, Q.Q8_0):
            w.add_tensor(name, quantize(x, qtype), raw_dtype=qtype)
        else:  # gguf-py has no K-quant quantizer; the header test needs only the right byte size
            raw = rng.integers(0, 256, quant_shape_to_byte_shape((rows, cols), qtype), dtype=np.uint8)
            w.add_tensor(name, raw, raw_dtype=qtype)

    add("token_embd.weight", V, H, Q.Q4_0)
    kv = H // NH * NKV
    for i in range(L):
        add(f"blk.{i}.attn_norm.weight", 1, H, Q.F32)
        add(f"blk.{i}.attn_q.weight", H, H, Q.Q4_0)
        add(f"blk.{i}.attn_k.weight", kv, H, Q.Q4_0)
        add(f"blk.{i}.attn_v.weight", kv, H, Q.Q8_0)
        add(f"blk.{i}.attn_output.weight", H, H, Q.Q4_K)
        add(f"blk.{i}.ffn_norm.weight", 1, H, Q.F32)
        add(f"blk.{i}.ffn_gate.weight", FF, H, Q.Q4_K)
        add(f"blk.{i}.ffn_up.weight", FF, H, Q.Q4_K)
        add(f"blk.{i}.ffn_down.weight", H, FF, Q.Q6_K)
    add("output_norm.weight", 1, H, Q.F32)
    if not tied:
        add("output.weight", V, H, Q.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_gguf_header_shape(tmp_path):
    path = _tiny_gguf(tmp_path / "tiny.gguf")
    m = read_gguf_model(path)
    assert (m.hidden_size, m.layers, m.heads, m.kv_heads, m.head_dim, m.intermediate_size) == (H, L, NH, NKV, 64, FF)
    assert (m.vocab_size, m.max_context, m.family, m.title) == (V, 128, "llama", "tiny-llama")
    assert not m.tied_embeddings and m.ffn == "gated" and m.norms_per_layer == 2
    summary = gguf_summary(path)
    assert param_count(m) == summary.params        # the spec's tensors are the file's tensors
    assert param_count(load_model(path)) == summary.params
    assert read_gguf_model(_tiny_gguf(tmp_path / "tied.gguf", tied=True)).tied_embeddings


def test_gguf_tensor_types_and_exact_bytes(tmp_path):
    path = _tiny_gguf(tmp_path / "tiny.gguf")
    ts = {t.name: t for t in gguf_tensors(path)}
    assert ts["blk.0.attn_q.weight"].type == "Q4_0" and ts["blk.1.ffn_down.weight"].type == "Q6_K"
    for t in ts.values():  # every tensor's bytes agree with simlow.formats
        from gguf import GGMLQuantizationType
        fmt = from_gguf_type(int(getattr(GGMLQuantizationType, t.type)))
        rows = t.n_elements // t.shape[0]
        assert fmt.tensor_bytes(rows, t.shape[0]) == t.n_bytes, t.name
    s = gguf_summary(path)
    assert s.count_by_type == {"Q4_0": 5, "Q8_0": 3, "Q4_K": 6, "Q6_K": 2, "F32": 5}
    assert s.n_bytes == sum(t.n_bytes for t in ts.values())
    assert 4.0 < s.bits_per_weight < 8.5


def test_gguf_bad_file(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(SimlowError, match="bad.gguf"):
        read_gguf_model(bad)
