"""A real language model run through simlow's bit-exact quantizers and datapaths (JAX).

Public face::

    from simlow.lm import evaluate_design, load_design
    r = evaluate_design("w4a4-quarot", tokens=ids, n_tokens=256)   # SmolLM2-135M by default
    r["perplexity"], r["kl_mean"], r["top1_agreement"], r["decode_tok_s"]

Modules: ``gguf_load`` (Llama GGUF -> config + QTensors), ``tokenizer`` (the file's
byte-level BPE), ``design`` (the Design object and its YAML), ``ggml_dot`` (llama.cpp's
CPU block dot products), ``intmatmul`` (the integer MAC unit in JAX), ``linear`` (one
matmul under a design), ``forward`` (the Llama graph), ``calibrate`` (GPTQ / AWQ / HQQ
weights, calibrated layer by layer on the model's own activations), ``evaluate`` (metrics).
Layering: uses quant, datapath, specs and sim (for the speed); nothing below imports it.
"""

from __future__ import annotations

from simlow.lm.design import Design, Rotation, load_design, shipped_designs
from simlow.lm.evaluate import evaluate_design

__all__ = ["Design", "Rotation", "evaluate_design", "load_design", "shipped_designs"]
