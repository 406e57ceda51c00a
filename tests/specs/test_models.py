"""Model shapes: every shipped model loads and reproduces its published parameter count."""

import pytest

from simlow.specs import load_model, load_scheme, names
from simlow.specs.model import TensorClass
from simlow.specs.tensors import active_param_count, matches_published, param_count, weight_tensors

REQUIRED = ("llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "mistral-7b",
            "mixtral-8x7b", "qwen3-30b-a3b", "qwen3-235b-a22b", "gemma-2-9b", "gpt-oss-20b",
            "gpt-oss-120b", "bitnet-b1.58-2b4t")


def test_required_models_are_shipped():
    assert set(REQUIRED) <= set(names("model"))


@pytest.mark.parametrize("name", names("model"))
def test_param_count_matches_published(name):
    m = load_model(name)
    assert m.params_published, f"{name} has no published parameter count"
    assert matches_published(m), (name, param_count(m), m.params_published, m.params_rounding)


@pytest.mark.parametrize("name,exact", [
    ("llama-2-7b", 6_738_415_616),          # model_facts.csv, llama-bench model_n_params
    ("llama-3.1-8b", 8_030_261_312),         # strix_halo_lhl_llmbench.csv n_params
    ("llama-3.3-70b", 70_553_706_560),
    ("qwen3-30b-a3b", 30_532_122_624),
    ("qwen3-235b-a22b", 235_093_634_560),
    ("qwen3-32b", 32_762_123_264),
    ("gemma-3-27b", 27_009_346_304),
    ("gpt-oss-20b", 20_914_757_184),
    ("gpt-oss-120b", 116_829_156_672),
    ("mistral-small-3.1-24b", 23_572_403_200),
])
def test_exact_counts_from_validation_csvs(name, exact):
    assert param_count(load_model(name)) == exact


@pytest.mark.parametrize("name,active_b", [
    ("mixtral-8x7b", 12.9),      # Mistral AI: 12.9B active
    ("qwen3-30b-a3b", 3.3),      # model_facts.csv: 3.3 billion active
    ("qwen3-235b-a22b", 22.0),   # Qwen3 model card: 22B activated
])
def test_active_params_match_published_rounding(name, active_b):
    assert round(active_param_count(load_model(name)) / 1e9, 1) == pytest.approx(active_b, abs=0.2)


def test_architecture_details():
    g = load_model("gemma-2-9b")
    assert g.attended_tokens(0, 8192) == 4096 and g.attended_tokens(1, 8192) == 8192
    assert not any(t.cls is TensorClass.LM_HEAD for t in weight_tensors(g))
    o = load_model("gpt-oss-20b")
    assert o.attended_tokens(0, 1000) == 128 and o.attended_tokens(1, 1000) == 1000
    sinks = [t for t in weight_tensors(o) if t.name.endswith("attn_sinks")]
    assert len(sinks) == 24 and sinks[0].cols == 64
    q = load_model("qwen3-30b-a3b")
    assert q.kv_dim == 512 and q.q_dim == 4096          # head_dim 128 != hidden / heads
    assert [t for t in weight_tensors(q) if t.cls is TensorClass.ROPE] == []
    assert [t.cols for t in weight_tensors(load_model("llama-3.1-8b")) if t.cls is TensorClass.ROPE] == [64]


@pytest.mark.parametrize("name", names("model"))
def test_kv_bytes_closed_form_equals_the_per_layer_sum(name):
    """ModelSpec.kv_bytes (closed form in the sliding-window layers) against the definition:
    each layer caches the tokens it attends to, 2 x kv_heads head vectors per token (latent
    attention: one latent row of kv_lora_rank + qk_rope_head_dim per token; Gemma 4's global
    layers: their own kv_heads x head_dim)."""
    m = load_model(name)
    def shape(i):      # (rows per token, values per row) of layer i's cache
        if m.mla:
            return 1, m.mla.kv_lora_rank + m.mla.qk_rope_head_dim
        a = m.attention(i)
        return 2 * a.kv_heads, a.head_dim
    for scheme in ("f16", "kv-q8_0", "kv-q4_0", "kv-turbo3"):
        fmt = load_scheme(scheme).kv_cache
        for ctx in (1, 100, 4096, 70000):
            per_layer = [fmt.tensor_bytes(shape(i)[0] * m.attended_tokens(i, ctx), shape(i)[1]) for i in range(m.layers)]
            assert m.kv_bytes(fmt, ctx) == sum(per_layer)
            for k in (0, 1, 5, m.layers // 2, m.layers):
                assert m.kv_bytes(fmt, ctx, range(k)) == sum(per_layer[:k])
                assert m.kv_bytes(fmt, ctx, range(k, m.layers)) == sum(per_layer[k:])
