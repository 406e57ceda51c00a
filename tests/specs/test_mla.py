"""Multi-head latent attention (DeepSeek-V2-Lite, DeepSeek-V3): parameter counts against the
published totals, the cached latent per token, and the absorbed-form decode step counted
by hand from the config (llama.cpp ``llm_build_deepseek2`` with an MLA GGUF)."""

from __future__ import annotations

import json

import pytest

from simlow import formats
from simlow.errors import SimlowError
from simlow.memory import fit
from simlow.specs import load_model, load_scheme
from simlow.specs.hf import read_hf_config
from simlow.specs.model import TensorClass as C, read_model
from simlow.specs.tensors import active_param_count, param_count, weight_tensors
from simlow.workload.graph import build_graph
from simlow.workload.op import Phase
from .test_hf_families import DEEPSEEK_V2_LITE, DEEPSEEK_V3


def _by_hand(cfg: dict) -> tuple[int, int]:
    """(total, active) parameters of a DeepSeek-V2/V3 config, written out from the modeling
    code's tensors (q_a/q_b or q_proj, kv_a_proj_with_mqa, kv_b_proj, o_proj, the two
    low-rank norms, dense or routed + shared SwiGLU experts, the router and, for noaux_tc,
    its score-correction bias), independently of simlow.specs.tensors."""
    h, heads, n = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    nope, rope, v, kv, qr = (cfg[k] for k in ("qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim",
                                               "kv_lora_rank", "q_lora_rank"))
    qr = qr or 0
    q = heads * (nope + rope) * h if not qr else qr * h + qr + heads * (nope + rope) * qr
    attn = q + (kv + rope) * h + kv + heads * (nope + v) * kv + heads * v * h + 2 * h
    e, k, sh, w = (cfg[x] for x in ("n_routed_experts", "num_experts_per_tok", "n_shared_experts",
                                     "moe_intermediate_size"))
    router = e * h + (e if cfg["topk_method"] == "noaux_tc" else 0)
    dense, n_dense = 3 * h * cfg["intermediate_size"], cfg["first_k_dense_replace"]
    emb = cfg["vocab_size"] * h
    total = n * attn + n_dense * dense + (n - n_dense) * (router + 3 * h * w * (e + sh)) + 2 * emb + h
    active = n * attn + n_dense * dense + (n - n_dense) * (router + 3 * h * w * (k + sh)) + 2 * emb + h
    return total, active


@pytest.mark.parametrize("name,cfg", [("deepseek-v2-lite", DEEPSEEK_V2_LITE), ("deepseek-v3", DEEPSEEK_V3)])
def test_counts_equal_the_hand_count_and_the_config(tmp_path, name, cfg):
    m = load_model(name)
    total, active = _by_hand(cfg)
    assert (param_count(m), active_param_count(m)) == (total, active)
    (tmp_path / name).mkdir()
    (tmp_path / name / "config.json").write_text(json.dumps(cfg))
    hf = read_hf_config(tmp_path / name / "config.json")
    assert (hf.mla, hf.moe, hf.kv_heads, hf.head_dim) == (m.mla, m.moe, m.kv_heads, m.head_dim)
    assert param_count(hf) == total


@pytest.mark.parametrize("name,total_b,active_b,digit_b", [
    ("deepseek-v2-lite", 15.7, 2.4, 0.1),   # DeepSeek-V2 paper, appendix B
    ("deepseek-v3", 671.0, 37.0, 1.0),      # DeepSeek-V3 report: 671B total, 37B activated
])
def test_counts_match_the_published_figures(name, total_b, active_b, digit_b):
    """Totals within half a unit of the published last digit. The published activated counts
    do not say how the embedding table is counted; a token reads one row of it, so it is left
    out here. Measured: V2-Lite 2.451 B, 0.051 B above the published 2.4 (within one unit of
    its last digit, not half of one: the figure reads as truncated), V3 36.63 B (37 rounded)."""
    m = load_model(name)
    assert abs(param_count(m) / 1e9 - total_b) <= digit_b / 2
    active = (active_param_count(m) - m.vocab_size * m.hidden_size) / 1e9
    assert abs(active - active_b) < digit_b


def test_the_cache_holds_the_latent():
    """576 = kv_lora_rank 512 + qk_rope_head_dim 64 values per token per layer, not
    2 x heads x head_dim (the naive form's 2 x 128 x 192 for V3's keys and values)."""
    f16, q8 = formats.get("f16"), formats.get("q8_0")
    for name, layers in (("deepseek-v2-lite", 27), ("deepseek-v3", 61)):
        m = load_model(name)
        assert m.kv_token_bytes(f16) == 576 * 2
        assert m.kv_token_bytes(q8) == 576 // 32 * 34
        assert m.kv_bytes(f16, 1000) == layers * 1000 * 576 * 2
    v3 = load_model("deepseek-v3")
    naive = 61 * 128 * (192 + 128) * 2            # K at 192 and V at 128 per head, f16
    assert v3.kv_bytes(f16, 1) / naive == pytest.approx(576 / (128 * 320))


def test_tensors_have_their_true_shapes():
    v3 = {t.name: t for t in weight_tensors(load_model("deepseek-v3")) if t.layer == 5}
    assert (v3["blk.5.attn_q_a"].rows, v3["blk.5.attn_q_a"].cols) == (1536, 7168)
    assert (v3["blk.5.attn_q_b"].rows, v3["blk.5.attn_q_b"].cols) == (128 * 192, 1536)
    assert (v3["blk.5.attn_kv_a_mqa"].rows, v3["blk.5.attn_kv_a_mqa"].cols) == (576, 7168)
    kb, vb = v3["blk.5.attn_k_b"], v3["blk.5.attn_v_b"]
    assert (kb.rows, kb.cols, kb.count, vb.rows, vb.cols, vb.count) == (512, 128, 128, 128, 512, 128)
    assert (v3["blk.5.attn_output"].rows, v3["blk.5.attn_output"].cols) == (7168, 128 * 128)
    lite = [t for t in weight_tensors(load_model("deepseek-v2-lite")) if t.layer == 3]
    assert {t.cls for t in lite if t.cls.group == "attention"} == {C.ATTN_Q, C.ATTN_KV_A, C.ATTN_K_B, C.ATTN_V_B,
                                                                 C.ATTN_O}


def test_absorbed_decode_step_by_hand():
    """One decode token at context L of DeepSeek-V3, f16 weights and cache, per layer."""
    m, s = load_model("deepseek-v3"), load_scheme("f16")
    L = 4095
    g = build_graph(m, s, Phase(1, 1, L))
    att = [op for op in g.ops if op.name.endswith(".attention")]
    assert sum(op.repeat for op in att) == 61
    pairs = L + 1
    for op in att:
        assert op.flops == pairs * 128 * (2 * 576 + 2 * 512 + 5)
        assert op.kv_read == pairs * 576 * 2 and op.kv_write == 576 * 2
    h, heads = 7168, 128
    attn_mm = 2 * (1536 * h + heads * 192 * 1536 + 576 * h + heads * 512 * 128 + heads * 128 * 512 + h * heads * 128)
    layer0 = {op.name.split(".", 1)[1]: op for op in g.ops if 0 in op.layers}
    mm = sum(op.flops for n, op in layer0.items() if n.startswith("attn_") and op.role is not None)
    assert mm == attn_mm
    assert g.total("kv_read") == 61 * pairs * 576 * 2


def test_yaml_refuses_a_wrong_kv_head_count(tmp_path):
    text = open("workloads/models/deepseek-v2-lite.yaml").read().replace("heads: 16\n", "heads: 16\nkv_heads: 16\n")
    p = tmp_path / "deepseek-v2-lite.yaml"
    p.write_text(text)
    with pytest.raises(SimlowError, match="deepseek-v2-lite.yaml: mla: latent attention has one shared latent KV head"):
        read_model(p)


def test_fit_sizes_the_latent_cache():
    r = fit("deepseek-v3", "b200", scheme="q4_k_m", ctx=32768)
    assert r.footprint.kv_cache_bytes == 61 * 32768 * 576 * 2
    assert not r.footprint.fits          # 671 B parameters at ~4.8 bits are ~380 GiB: one 179 GiB B200 cannot hold them


# moonshotai/Kimi-K2-Instruct config.json (model_type kimi_k2: DeepSeek-V3's architecture with
# 64 heads, 384 routed experts and one dense layer); published: 1 T total, 32 B activated
KIMI_K2 = {"model_type": "kimi_k2", "hidden_size": 7168, "num_hidden_layers": 61, "num_attention_heads": 64,
           "num_key_value_heads": 64, "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
           "qk_rope_head_dim": 64, "v_head_dim": 128, "n_routed_experts": 384, "num_experts_per_tok": 8,
           "n_shared_experts": 1, "moe_intermediate_size": 2048, "intermediate_size": 18432,
           "first_k_dense_replace": 1, "vocab_size": 163840, "max_position_embeddings": 131072,
           "topk_method": "noaux_tc", "tie_word_embeddings": False}


def test_kimi_k2_reads_as_latent_attention(tmp_path):
    (tmp_path / "k2").mkdir()
    (tmp_path / "k2" / "config.json").write_text(json.dumps(KIMI_K2))
    m = read_hf_config(tmp_path / "k2" / "config.json")
    total, active = _by_hand(KIMI_K2)
    assert (param_count(m), active_param_count(m)) == (total, active)
    assert abs(total / 1e12 - 1.0) <= 0.05                              # 1.026 T
    assert abs((active - m.vocab_size * m.hidden_size) / 1e9 - 32) <= 0.5  # 31.69 B
    assert m.kv_token_bytes(formats.get("f16")) == 576 * 2
