"""A small valid GGUF file for the header tests, written by gguf-py's ``GGUFWriter``.

A two-layer llama (hidden 64, 4 heads, 2 kv heads, FFN 128, vocab 96) with Q8_0, Q4_1 and
F16 matrices, F32 norms, a 96-token string tokenizer and a per-layer int array, so the
reader's skipping, typed values and every tensor type path are exercised.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as Q, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import quant_shape_to_byte_shape, quantize

H, FF, L, V, NH, NKV = 64, 128, 2, 96, 4, 2


def tiny_gguf_bytes(tokens: int = V, tied: bool = False) -> bytes:
    import os
    import tempfile

    fd, name = tempfile.mkstemp(suffix=".gguf")
    os.close(fd)
    try:
        write_tiny_gguf(name, tokens, tied)
        with open(name, "rb") as f:
            return f.read()
    finally:
        os.unlink(name)


def write_tiny_gguf(path, tokens: int = V, tied: bool = False, fused: bool = False, extra: dict | None = None):
    """``fused``: a phi3 layout (one ``attn_qkv``, gate and up in one ``ffn_up`` of 2 x FFN);
    ``extra``: more uint32 metadata keys."""
    w = GGUFWriter(str(path), "phi3" if fused else "llama")
    w.add_name("tiny-llama")
    w.add_block_count(L)
    w.add_context_length(256)
    w.add_embedding_length(H)
    w.add_feed_forward_length(FF)
    w.add_head_count(NH)
    w.add_head_count_kv(NKV)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_array("tiny.per_layer", [7] * L)
    for key, value in (extra or {}).items():
        w.add_uint32(key, value)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" for i in range(tokens)])
    w.add_token_scores([float(i) for i in range(tokens)])
    rng = np.random.default_rng(0)

    def add(name, rows, cols, qtype):
        x = rng.standard_normal((rows, cols) if rows > 1 else cols).astype(np.float32)
        if qtype in (Q.F32, Q.F16):
            w.add_tensor(name, x.astype(np.float16 if qtype == Q.F16 else np.float32), raw_dtype=qtype)
        elif qtype in (Q.Q8_0, Q.Q4_1):
            w.add_tensor(name, quantize(x, qtype), raw_shape=quant_shape_to_byte_shape(x.shape, qtype),
                         raw_dtype=qtype)
        else:
            block, size = GGML_QUANT_SIZES[qtype]
            raw = np.zeros((rows, cols // block * size), dtype=np.uint8)
            w.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=qtype)

    add("token_embd.weight", V, H, Q.Q8_0)
    for i in range(L):
        add(f"blk.{i}.attn_norm.weight", 1, H, Q.F32)
        if fused:
            add(f"blk.{i}.attn_qkv.weight", (NH + 2 * NKV) * 16, H, Q.Q8_0)
        else:
            add(f"blk.{i}.attn_q.weight", NH * 16, H, Q.Q4_1)
            add(f"blk.{i}.attn_k.weight", NKV * 16, H, Q.Q4_1)
            add(f"blk.{i}.attn_v.weight", NKV * 16, H, Q.Q8_0 if i == 0 else Q.Q4_1)
        add(f"blk.{i}.attn_output.weight", H, NH * 16, Q.Q4_1)
        add(f"blk.{i}.ffn_norm.weight", 1, H, Q.F32)
        if not fused:
            add(f"blk.{i}.ffn_gate.weight", FF, H, Q.Q4_1)
        add(f"blk.{i}.ffn_up.weight", 2 * FF if fused else FF, H, Q.Q4_1)
        add(f"blk.{i}.ffn_down.weight", H, FF, Q.F16)
    add("output_norm.weight", 1, H, Q.F32)
    if not tied:
        add("output.weight", V, H, Q.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
