"""Op graph: bytes and FLOPs against hand counts, conservation, layer grouping, MoE routing."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from simlow import formats
from simlow.errors import SimlowError
from simlow.workload.graph import build_graph
from simlow.workload.op import Phase
from simlow.workload.templates import templates
from simlow.workload.routing import Trace, Uniform, Zipf, parse_routing
from simlow.specs import load_model, load_scheme
from simlow.specs.model import TensorClass
from simlow.specs.scheme import weight_bytes
from simlow.specs.tensors import weight_tensors


@pytest.fixture(scope="module")
def llama():
    return load_model("llama-2-7b"), load_scheme("q4_0")


def _weight_bytes(m, s) -> int:
    return weight_bytes(m, s)


def test_dense_decode_reads_every_weight_once_but_embedding_rows(llama):
    m, s = llama
    g = build_graph(m, s, Phase(1, 1, 0))
    emb = formats.get("q4_0")
    table = emb.tensor_bytes(m.vocab_size, m.hidden_size)
    assert g.total("weight_read") == _weight_bytes(m, s) - table + emb.tensor_bytes(1, m.hidden_size)


def test_q4_0_llama2_is_the_published_gguf_size(llama):
    # llama-bench prints 3.56 GiB for TheBloke's llama-2-7b.Q4_0.gguf (validation CSVs)
    m, s = llama
    assert _weight_bytes(m, s) / 2**30 == pytest.approx(3.56, abs=0.006)


def test_hand_counted_flops_and_kv(llama):
    m, s = llama
    B, P, L = 2, 16, 100
    g = build_graph(m, s, Phase(B, P, L))
    h, f, V = 4096, 11008, 32000
    mm = 2 * B * P * 32 * (4 * h * h + 3 * h * f) + 2 * B * V * h
    assert g.flops_by_format()["int8"] == mm
    kv_tok = 2 * 4096 * 2  # K and V, f16
    assert g.total("kv_write") == 32 * B * P * kv_tok
    assert g.total("kv_read") == 32 * B * (L + P) * kv_tok
    pairs = B * sum(L + i for i in range(1, P + 1))
    att = [op for op in g.ops if op.name.endswith("attention")][0]
    assert att.flops == pairs * 32 * (4 * 128 + 5)


@settings(max_examples=30, deadline=None)
@given(b=st.integers(1, 64), n=st.integers(1, 2048), L=st.integers(0, 4096))
def test_totals_equal_per_op_sums(llama, b, n, L):
    m, s = llama
    g = build_graph(m, s, Phase(b, n, L))
    for q in ("weight_read", "kv_read", "kv_write", "act_read", "act_write", "flops"):
        assert g.total(q) == sum(getattr(op, q) * op.repeat for op in g.ops)
    assert sum(g.flops_by_format().values()) == pytest.approx(g.total("flops"), rel=1e-12)
    assert sum(len(op.layers) for op in g.ops if op.layers) == sum(op.repeat for op in g.ops if op.layers)


def test_graph_is_a_dag_in_execution_order(llama):
    m, s = llama
    g = build_graph(m, s, Phase(1, 1, 0))
    assert nx.is_directed_acyclic_graph(g.dag)
    order = [op.name for op in g.ops]
    assert order[0] == "token_embd" and order[-1] == "lm_head"
    pos = {n: i for i, n in enumerate(order)}
    assert all(pos[a] < pos[b] for a, b in g.dag.edges())


def test_identical_layers_share_one_template(llama):
    m, s = llama
    temps, seq = templates(m, s)
    assert seq == (0,) * 32
    assert all(t.repeat == 32 for t in temps if t.layers)


def test_layer_selective_scheme_splits_groups(llama, tmp_path):
    m, _ = llama
    p = tmp_path / "mix.yaml"
    p.write_text("schema_version: 1\nname: mix\ntitle: t\nsource: test\nweights: {default: q4_k}\nkv_cache: f16\n"
                 "overrides:\n  - {tensors: [attn_v, ffn_down], layers: more_bits, format: q6_k}\n")
    s = load_scheme(p)
    temps, seq = templates(m, s)
    assert len(set(seq)) == 2
    g = build_graph(m, s, Phase(1, 1, 0))
    down = [op for op in g.ops if op.name.endswith("ffn_down")]
    assert {op.weight_format for op in down} == {"q4_k", "q6_k"}
    for op in down:
        assert all(s.weight_format(TensorClass.FFN_DOWN, i, 32, m).name == op.weight_format for i in op.layers)


def test_bad_phase():
    with pytest.raises(SimlowError):
        Phase(0, 1, 0)
    with pytest.raises(SimlowError):
        Phase(1, 0, 0)


def test_routing_distinct_experts():
    u = Uniform()
    assert u.distinct(1, 128, 8) == pytest.approx(8)
    assert u.distinct(10**6, 128, 8) == pytest.approx(128)
    many = u.distinct(np.arange(1, 100), 64, 4)
    assert np.all(np.diff(many) > 0)
    # skew concentrates traffic on popular experts: fewer distinct experts than uniform
    assert Zipf(1.2).distinct(16, 128, 8) < u.distinct(16, 128, 8)
    assert Zipf(0.0).distinct(16, 128, 8) == pytest.approx(u.distinct(16, 128, 8))
    assert Zipf(2.0).distinct(1, 128, 8) == pytest.approx(8)
    tr = Trace.from_ids([[0, 1], [0, 2], [0, 1], [3, 1]], 4)
    assert tr.distinct(1, 4, 2) == pytest.approx(2)
    assert parse_routing("zipf:1.5") == Zipf(1.5)
    with pytest.raises(SimlowError):
        parse_routing("lognormal")


@pytest.mark.parametrize("scheme", ["q4_0", "q4_k_m", "mxfp4_moe"])
@pytest.mark.parametrize("name", ["llama-3.1-8b", "gemma-2-9b", "qwen3-30b-a3b", "gpt-oss-20b", "mixtral-8x7b",
                                  "bitnet-b1.58-2b4t", "qwen2.5-coder-7b", "deepseek-v2-lite", "deepseek-v3",
                                  "gemma-4-31b"])
def test_every_weight_byte_belongs_to_one_op(name, scheme):
    """With every expert touched (a huge batch) a step reads each weight tensor exactly once,
    except the embedding table (T rows gathered) and, for tied embeddings, the table again
    as lm_head."""
    m, s = load_model(name), load_scheme(scheme)
    B = 1 if m.moe is None else 100_000
    g = build_graph(m, s, Phase(B, 1, 0))
    emb = s.tensor_format(m, weight_tensors(m)[0])
    table = emb.tensor_bytes(m.vocab_size, m.hidden_size)
    expect = _weight_bytes(m, s) - table + B * emb.tensor_bytes(1, m.hidden_size)
    if m.tied_embeddings:
        expect += table
    assert g.total("weight_read") == pytest.approx(expect, rel=1e-9)
