"""Hugging Face config.json families beyond the originals, quantization_config, and numbers.

Each config below carries the values of the published config.json of the repository named
in the shipped model YAML (text model of the multimodal wrappers under ``text_config``);
the shape read from it must give the YAML's parameter count, which the model tests check
against the published count. Configs found as printed by ``transformers`` keep only the
keys that matter. DeepSeek-V2/V3's multi-head latent attention is read into ``ModelSpec.mla``
(its counts against the published totals: ``test_mla.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from simlow import formats
from simlow.errors import SimlowError
from simlow.memory import fit, weight_bytes_by_part
from simlow.specs import load_model, load_scheme
from simlow.specs.hf import read_hf_config
from simlow.specs.hf_quant import group_format, hf_scheme
from simlow.specs.tensors import param_count, weight_tensors

NR = [1,1,1,0] * 12
FAMILIES = {
 "llama-4-scout": {"architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4", "tie_word_embeddings": False,
   "text_config": {"attention_bias": False, "attention_chunk_size": 8192, "head_dim": 128, "hidden_act": "silu", "hidden_size": 5120,
     "interleave_moe_layer_step": 1, "intermediate_size": 8192, "intermediate_size_mlp": 16384, "max_position_embeddings": 10485760,
     "model_type": "llama4_text", "moe_layers": list(range(48)), "no_rope_layers": NR, "num_attention_heads": 40, "num_experts_per_tok": 1,
     "num_hidden_layers": 48, "num_key_value_heads": 8, "num_local_experts": 16, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
     "use_qk_norm": True, "vocab_size": 202048}},
 "mistral-small-3.1-24b": {"architectures": ["Mistral3ForConditionalGeneration"], "model_type": "mistral3",
   "text_config": {"head_dim": 128, "hidden_act": "silu", "hidden_size": 5120, "intermediate_size": 32768, "max_position_embeddings": 131072,
     "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 40, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
     "rope_theta": 1000000000.0, "sliding_window": None, "vocab_size": 131072}},
 "hunyuan-a13b": {"architectures": ["HunYuanMoEV1ForCausalLM"], "attention_bias": False, "attention_head_dim": 128, "hidden_size": 4096,
   "intermediate_size": 3072, "max_position_embeddings": 32768, "mlp_bias": False, "model_type": "hunyuan", "moe_intermediate_size": [3072] * 32,
   "moe_topk": [8] * 32, "num_attention_heads": 32, "num_experts": 64, "num_hidden_layers": 32, "num_key_value_heads": 8,
   "num_shared_expert": [1] * 32, "tie_word_embeddings": True, "use_mixed_mlp_moe": True, "use_qk_norm": True, "vocab_size": 128167},
 "dots-llm1": {"model_type": "dots1", "hidden_size": 4096, "num_hidden_layers": 62, "intermediate_size": 10944, "num_attention_heads": 32,
   "num_key_value_heads": 32, "rms_norm_eps": 1e-05, "vocab_size": 152064, "first_k_dense_replace": 1, "moe_intermediate_size": 1408,
   "n_routed_experts": 128, "n_shared_experts": 2, "num_experts_per_tok": 6, "norm_topk_prob": True, "routed_scaling_factor": 2.5,
   "max_position_embeddings": 32768, "rope_theta": 10000000, "scoring_func": "sigmoid", "attention_bias": False, "tie_word_embeddings": False},
 "bitnet-b1.58-2b4t": {"architectures": ["BitNetForCausalLM"], "hidden_act": "relu2", "hidden_size": 2560, "intermediate_size": 6912,
   "max_position_embeddings": 4096, "model_type": "bitnet", "rms_norm_eps": 1e-05, "num_attention_heads": 20, "num_hidden_layers": 30,
   "num_key_value_heads": 5, "rope_theta": 500000.0, "tie_word_embeddings": True, "torch_dtype": "bfloat16", "vocab_size": 128256,
   "quantization_config": {"quant_method": "bitnet", "offline_quantization": True}},
 "internlm-20b": {"architectures": ["InternLMForCausalLM"], "bias": False, "hidden_act": "silu", "hidden_size": 5120, "intermediate_size": 13824,
   "max_position_embeddings": 4096, "model_type": "internlm", "num_attention_heads": 40, "num_hidden_layers": 60, "num_key_value_heads": 40,
   "rms_norm_eps": 1e-06, "tie_word_embeddings": False, "torch_dtype": "bfloat16", "vocab_size": 103168},
 "gemma-3-27b": {"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
   "text_config": {"head_dim": 128, "hidden_size": 5376, "intermediate_size": 21504, "model_type": "gemma3_text", "num_attention_heads": 32,
     "num_hidden_layers": 62, "num_key_value_heads": 16, "query_pre_attn_scalar": 168, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
     "sliding_window": 1024, "sliding_window_pattern": 6}},
}

# google/gemma-3-4b-it config.json (text_config; transformers defaults fill max_position_embeddings)
GEMMA3_4B = {"model_type": "gemma3", "architectures": ["Gemma3ForConditionalGeneration"], "text_config": {
    "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 2560, "intermediate_size": 10240,
    "model_type": "gemma3_text", "num_attention_heads": 8, "num_hidden_layers": 34, "num_key_value_heads": 4,
    "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "rope_local_base_freq": 10000.0,
    "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "rope_theta": 1000000.0, "sliding_window": 1024,
    "sliding_window_pattern": 6, "vocab_size": 262208}}
FAMILIES["gemma-3-4b"] = GEMMA3_4B
# microsoft/Phi-3-mini-4k-instruct config.json; published: 3,821,079,552 parameters (keras-hub
# phi3_presets.py, phi3_mini_4k_instruct_en "params")
PHI3_MINI = {"architectures": ["Phi3ForCausalLM"], "hidden_act": "silu", "hidden_size": 3072, "intermediate_size": 8192,
             "max_position_embeddings": 4096, "model_type": "phi3", "num_attention_heads": 32, "num_hidden_layers": 32,
             "num_key_value_heads": 32, "rms_norm_eps": 1e-05, "rope_scaling": None, "tie_word_embeddings": False,
             "torch_dtype": "bfloat16", "vocab_size": 32064}
# deepseek-ai/DeepSeek-V2-Lite config.json; published: 15.7 B parameters (model card: "16B total")
DEEPSEEK_V2_LITE = {"architectures": ["DeepseekV2ForCausalLM"], "attention_bias": False, "first_k_dense_replace": 1,
                    "hidden_size": 2048, "intermediate_size": 10944, "kv_lora_rank": 512, "max_position_embeddings": 163840,
                    "model_type": "deepseek_v2", "moe_intermediate_size": 1408, "moe_layer_freq": 1, "n_group": 1,
                    "n_routed_experts": 64, "n_shared_experts": 2, "norm_topk_prob": False, "num_attention_heads": 16,
                    "num_experts_per_tok": 6, "num_hidden_layers": 27, "num_key_value_heads": 16, "q_lora_rank": None,
                    "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "tie_word_embeddings": False, "topk_method": "greedy",
                    "v_head_dim": 128, "vocab_size": 102400}
# deepseek-ai/DeepSeek-V3 config.json; published: 671 B main-model parameters (README: 685 B with
# the 14 B multi-token-prediction module)
DEEPSEEK_V3 = {"architectures": ["DeepseekV3ForCausalLM"], "first_k_dense_replace": 3, "hidden_size": 7168,
               "intermediate_size": 18432, "kv_lora_rank": 512, "max_position_embeddings": 163840, "model_type": "deepseek_v3",
               "moe_intermediate_size": 2048, "moe_layer_freq": 1, "n_group": 8, "n_routed_experts": 256,
               "n_shared_experts": 1, "num_attention_heads": 128, "num_experts_per_tok": 8, "num_hidden_layers": 61,
               "num_key_value_heads": 128, "num_nextn_predict_layers": 1, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
               "qk_rope_head_dim": 64, "topk_method": "noaux_tc", "v_head_dim": 128, "vocab_size": 129280,
               "tie_word_embeddings": False,
               "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                       "weight_block_size": [128, 128]}}
LLAMA2_7B = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32,
             "num_hidden_layers": 32, "num_key_value_heads": 32, "max_position_embeddings": 4096, "vocab_size": 32000,
             "tie_word_embeddings": False, "torch_dtype": "float16"}


def _write(tmp_path, name, cfg):
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text(json.dumps(cfg))
    return d / "config.json"


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_matches_the_shipped_yaml(tmp_path, name):
    m = read_hf_config(_write(tmp_path, name, FAMILIES[name]))
    ref = replace(load_model(name), rope_freqs=False)   # rope_freqs is a GGUF-only tensor
    assert param_count(m) == param_count(ref)
    assert (m.kv_dim, m.moe, m.sliding_window, m.tied_embeddings, m.qk_norm) == \
        (ref.kv_dim, ref.moe, ref.sliding_window, ref.tied_embeddings, ref.qk_norm)


def test_phi3_mini_published_count(tmp_path):
    assert param_count(read_hf_config(_write(tmp_path, "phi3", PHI3_MINI))) == 3_821_079_552


@pytest.mark.parametrize("cfg,name", [(DEEPSEEK_V2_LITE, "deepseek-v2-lite"), (DEEPSEEK_V3, "deepseek-v3")])
def test_deepseek_mla_matches_the_shipped_yaml(tmp_path, cfg, name):
    m = read_hf_config(_write(tmp_path, name, cfg))
    ref = load_model(name)
    assert param_count(m) == param_count(ref)
    assert (m.mla, m.moe, m.kv_dim, m.kv_heads) == (ref.mla, ref.moe, ref.kv_dim, 1)


def test_deepseek_moe_keys_are_checked(tmp_path):
    with pytest.raises(SimlowError, match="n_routed_experts"):
        read_hf_config(_write(tmp_path, "ds", {**DEEPSEEK_V2_LITE, "n_routed_experts": "64"}))


def test_integral_float_is_a_whole_number(tmp_path):
    m = read_hf_config(_write(tmp_path, "f", {**LLAMA2_7B, "hidden_size": 4096.0, "num_hidden_layers": 32.0}))
    assert param_count(m) == 6_738_415_616
    with pytest.raises(SimlowError, match=r"config\.json: hidden_size: expected a whole number, got float 4096\.5"):
        read_hf_config(_write(tmp_path, "g", {**LLAMA2_7B, "hidden_size": 4096.5}))
    with pytest.raises(SimlowError, match=r"config\.json: text_config\.num_hidden_layers"):
        read_hf_config(_write(tmp_path, "h", {**GEMMA3_4B, "text_config": {**GEMMA3_4B["text_config"],
                                                                         "num_hidden_layers": 34.5}}))


def test_llama4_maverick_interleave_is_refused(tmp_path):
    cfg = FAMILIES["llama-4-scout"]
    bad = {**cfg, "text_config": {**cfg["text_config"], "interleave_moe_layer_step": 2}}
    with pytest.raises(SimlowError, match="text_config.interleave_moe_layer_step"):
        read_hf_config(_write(tmp_path, "mav", bad))


# -- quantization_config ----------------------------------------------------------------------

def _quantized(tmp_path, name, q, base=LLAMA2_7B):
    return _write(tmp_path, name, {**base, "quantization_config": q})


def test_awq_w4g128_is_the_shipped_awq_scheme(tmp_path):
    path = _quantized(tmp_path, "awq", {"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True,
                                        "version": "gemm"})
    m = load_model(path)
    r = fit(path, "rtx-4090")
    assert r.footprint.weights_bytes == weight_bytes_by_part(m, load_scheme("awq-w4g128"))
    assert r.scheme == "awq-w4g128" and "awq 4-bit, group 128, with zero points" in r.notes[0]


def test_gptq_counts_zeros_even_when_symmetric(tmp_path):
    path = _quantized(tmp_path, "gptq", {"quant_method": "gptq", "bits": 4, "group_size": 128, "sym": True,
                                         "desc_act": False})
    r = fit(path, "rtx-4090")
    assert r.footprint.weights_bytes == weight_bytes_by_part(load_model(path), load_scheme("gptq-w4g128"))
    assert any("g_idx" in n for n in r.notes)


def test_awq_group_64_by_hand(tmp_path):
    path = _quantized(tmp_path, "awq64", {"quant_method": "awq", "bits": 4, "group_size": 64, "zero_point": True})
    m = load_model(path)
    scheme, _ = hf_scheme(path)
    # by hand: per 64 weights 32 B of codes + 2 B fp16 scale + 0.5 B of 4-bit zero = 34.5 B;
    # embedding and lm_head fp16 (torch_dtype float16), norms f32
    want = 0
    for t in weight_tensors(m):
        n = t.rows * t.cols * t.count
        want += {"embedding": 2 * n, "lm_head": 2 * n, "norm": 4 * n}.get(t.cls.value, n * 345 // 640)
    assert sum(weight_bytes_by_part(m, scheme).values()) == want


def test_group_formats():
    assert group_format(4, 128, True) is formats.get("w4g128")
    assert group_format(4, 128, False) is formats.get("w4g128_sym")
    assert group_format(3, 128, True).bits_per_weight == (3 * 128 + 16 + 3) / 128
    assert group_format(8, 32, True).tensor_bytes(1, 64) == 2 * (32 + 2 + 1)


@pytest.mark.parametrize("q,key", [
    ({"quant_method": "hqq", "nbits": 4}, "quant_method"),
    ({"quant_method": "awq", "bits": 5, "group_size": 128}, "bits"),
    ({"quant_method": "gptq", "bits": 4, "group_size": -1}, "group_size"),
    ({"quant_method": "awq", "bits": 4, "group_size": 100}, "group_size"),
    ({"bits": 4}, "quant_method"),
])
def test_bad_quantization_config_is_an_error(tmp_path, q, key):
    path = _quantized(tmp_path, "bad", q)
    with pytest.raises(SimlowError, match=rf"config\.json: quantization_config\.{key}"):
        fit(path, "rtx-4090")


def test_block_fp8_is_an_error_unless_a_scheme_is_given(tmp_path):
    path = _quantized(tmp_path, "fp8", DEEPSEEK_V3["quantization_config"])
    with pytest.raises(SimlowError, match="weight_block_size"):
        fit(path, "rtx-4090")
    r = fit(path, "rtx-4090", "q8_0")
    assert r.scheme == "q8_0" and "overrides the config's quantization_config (fp8)" in r.notes[0]


def test_shipped_quantizations(tmp_path):
    bitnet = _write(tmp_path, "bitnet-b1.58-2b4t", FAMILIES["bitnet-b1.58-2b4t"])
    assert fit(bitnet, "rtx-4090").scheme == "bitnet-w1.58a8"
    gpt_oss = _quantized(tmp_path, "oss", {"quant_method": "mxfp4", "modules_to_not_convert": ["lm_head"]})
    assert fit(gpt_oss, "rtx-4090").scheme == "mxfp4"


def test_unquantized_config_keeps_the_default(tmp_path):
    r = fit(_write(tmp_path, "plain", LLAMA2_7B), "rtx-4090")
    assert r.scheme == "q4_0" and r.notes == ()


def test_cli_unknown_quant_method_exits_2(tmp_path):
    path = _quantized(tmp_path, "cli", {"quant_method": "hqq"})
    r = subprocess.run([sys.executable, "-m", "simlow.cli", "fit", "--model", str(path), "--hw", "rtx-4090"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "quant_method" in r.stderr and "--scheme" in r.stderr and "Traceback" not in r.stderr


def test_predict_says_where_an_unrunnable_scheme_came_from(tmp_path):
    from simlow.sim.predict import predict

    path = _quantized(tmp_path, "awqp", {"quant_method": "awq", "bits": 4, "group_size": 128})
    with pytest.raises(SimlowError, match="cannot run format w4g128.*how .*config.json stores its weights"):
        predict(path, "rtx-4090", prompt=16, gen=4)
    p = predict(path, "rtx-4090", prompt=16, gen=4, stack="vllm")
    assert p.scheme == "awq-w4g128" and "quantization_config: awq 4-bit" in p.notes[0]


def test_integral_floats_in_quantization_config(tmp_path):
    path = _quantized(tmp_path, "awqf", {"quant_method": "awq", "bits": 4.0, "group_size": 128.0})
    assert fit(path, "rtx-4090").scheme == "awq-w4g128"
