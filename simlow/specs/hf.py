"""Model shapes from a Hugging Face ``config.json``.

``read_hf_config(path)`` maps the config of a supported ``model_type`` onto a ``ModelSpec``:
llama, mistral, mixtral, qwen2, qwen3, qwen3_moe, gemma2, gpt_oss, phi3, internlm, bitnet,
dots1, hunyuan (``hunyuan_v1_moe``), and the multimodal wrappers whose text model is nested
under ``text_config`` (gemma3 -> gemma3_text, gemma4 -> gemma4_text, mistral3 -> mistral,
llama4 -> llama4_text). Gemma 4's full-attention layers have their own shape
(``ModelSpec.global_attention``: ``num_global_key_value_heads``, ``global_head_dim``,
``attention_k_eq_v``); its per-layer embeddings, cross-layer KV sharing, MoE block and
double-wide MLP (E2B, E4B, 26B-A4B) are refused with an error naming the key.
The shape is the Hugging Face checkpoint's: ``specs.tensors.param_count`` counts its tensors (a GGUF of
the same model may add tensors, such as llama 3.1's ``rope_freqs``). Where a key may be
absent, the default is the ``transformers`` configuration class's.

DeepSeek-V2/V3 (``deepseek_v2``, ``deepseek_v3``) and Kimi K2 (``kimi_k2``, DeepSeek-V3's
architecture) use multi-head latent attention
(``ModelSpec.mla``: ``kv_lora_rank``, ``q_lora_rank`` (null: a full-rank q projection, as in
V2-Lite), ``qk_nope_head_dim``, ``qk_rope_head_dim``, ``v_head_dim``); their
``num_key_value_heads`` describes the naive (decompressed) form and is not used: the cache
holds one latent per token, as llama.cpp's ``head_count_kv = 1``. The multi-token-prediction
layers (``num_nextn_predict_layers``) are not part of the shape: they are not in the
published main-model count (DeepSeek-V3: 671 B of the checkpoint's 685 B) and llama.cpp
does not run them. The router's score-correction bias is present when ``topk_method`` is
``noaux_tc`` (V3). Llama 4's chunked attention (``attention_chunk_size``, global NoPE layers)
is represented as a sliding window of the chunk size, as the shipped llama-4-scout YAML does.

Numbers: a whole number written as a float (``"hidden_size": 2048.0``) is accepted; any
other float where a whole number is needed is an error naming the key. A missing or
mistyped key, or a feature this mapping does not represent, is a ``SimlowError`` naming the
file and the key. ``quantization_config`` is read by ``simlow.specs.hf_quant``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from simlow.errors import SimlowError
from simlow.specs.attention import MLA, GlobalAttention
from simlow.specs.model import MoE, ModelSpec, SlidingWindow
from simlow.specs.yamlfile import Reader

MAX_BYTES = 16 * 2**20      # a config.json is a few KB; refuse anything this large
MAX_LAYERS = 4096           # no published decoder has more than a few hundred layers
_WRAPPERS = {"gemma3": "gemma3_text", "gemma4": "gemma4_text", "mistral3": "mistral", "llama4": "llama4_text"}
_MLA = ("deepseek_v2", "deepseek_v3", "kimi_k2")
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": {}, "mistral": {}, "mixtral": {}, "qwen2": {"attention_bias": True},
    "qwen3": {"qk_norm": True}, "qwen3_moe": {"qk_norm": True},
    "gemma2": {"norms_per_layer": 4}, "gpt_oss": {"attention_bias": True, "attention_out_bias": True,
                                                  "attention_sinks": True},
    "gemma3_text": {"norms_per_layer": 4, "qk_norm": True}, "gemma4_text": {"norms_per_layer": 4, "qk_norm": True},
    "llama4_text": {}, "phi3": {},
    "internlm": {}, "bitnet": {"attn_sub_norm": True, "ffn_sub_norm": True},
    "dots1": {"qk_norm": True}, "hunyuan": {}, "hunyuan_v1_moe": {}, "deepseek_v2": {}, "deepseek_v3": {}, "kimi_k2": {},
}
SUPPORTED = tuple(sorted(set(_FAMILY_DEFAULTS) | set(_WRAPPERS)))
_TIED_DEFAULT = {"gemma2", "gemma3_text", "gemma4_text", "bitnet", "hunyuan", "hunyuan_v1_moe"}
# Gemma 4 keys of shapes ModelSpec does not represent, each with the value that means "absent"
# (google/gemma-4-31B-it has them all absent; E2B / E4B / 26B-A4B do not).
_GEMMA4_ABSENT = {"num_kv_shared_layers": 0, "hidden_size_per_layer_input": 0, "enable_moe_block": False,
                  "use_double_wide_mlp": False}


def load_config(path: Path | str) -> dict:
    """The JSON object of a ``config.json``, integral floats made whole (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        raise SimlowError(f"{path}: is a directory, not a config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as err:
        raise SimlowError(f"{path}: cannot read ({err.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise SimlowError(f"{path}: larger than {MAX_BYTES >> 20} MiB, not a config.json")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise SimlowError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise SimlowError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from None
    except RecursionError:
        raise SimlowError(f"{path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise SimlowError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return _whole(data)


def _whole(data: dict, depth: int = 0) -> dict:
    """``data`` (and the mappings in it: ``text_config``, ``quantization_config``) with
    integral finite floats as ints."""
    out = {}
    for k, v in data.items():
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            v = int(v)
        elif isinstance(v, dict) and depth < 1:
            v = _whole(v, depth + 1)
        out[k] = v
    return out


def read_hf_config(path: Path | str) -> ModelSpec:
    """Read a Hugging Face ``config.json`` into a ``ModelSpec``."""
    path = Path(path)
    outer = Reader(load_config(path), str(path))
    if outer.data.get("model_type") is None:
        outer.fail("missing required key", "model_type")
    model_type = outer.str("model_type")
    if model_type not in SUPPORTED:
        outer.fail(f"{model_type!r} is not supported (supported: {', '.join(SUPPORTED)})", "model_type")
    r, family = outer, model_type
    if model_type in _WRAPPERS:
        r = outer.sub("text_config") if outer.data.get("text_config") is not None else outer
        family = r.str("model_type", default=_WRAPPERS[model_type]) if r is not outer else _WRAPPERS[model_type]
        if family not in _FAMILY_DEFAULTS:
            r.fail(f"{family!r} is not a supported text model (supported: {', '.join(sorted(_FAMILY_DEFAULTS))})",
                   "model_type")
    return _spec(path, outer, r, family)


def _spec(path: Path, outer: Reader, r: Reader, family: str) -> ModelSpec:
    hidden = need_int(r, "hidden_size", minimum=1)
    heads = need_int(r, "num_attention_heads", minimum=1)
    layers = need_int(r, "num_hidden_layers", minimum=1)
    if layers > MAX_LAYERS:
        r.fail(f"{layers} layers: more than {MAX_LAYERS}, not a real model", "num_hidden_layers")
    head_key = "attention_head_dim" if family.startswith("hunyuan") and "head_dim" not in r.data else "head_dim"
    fields: dict[str, Any] = dict(_FAMILY_DEFAULTS[family])
    mla = _mla(r) if family in _MLA else None
    fields.update(
        vocab_size=_int(r, "vocab_size", 262208 if family == "gemma3_text" else None),
        hidden_size=hidden, layers=layers, heads=heads,
        kv_heads=1 if mla else _opt_int(r, "num_key_value_heads", heads),
        head_dim=mla.qk_head_dim if mla else _opt_int(r, head_key, 256 if family == "gemma3_text" else hidden // heads),
        mla=mla,
        intermediate_size=need_int(r, "intermediate_size_mlp" if family == "llama4_text" else "intermediate_size",
                                minimum=1),
        max_context=_int(r, "max_position_embeddings", 131072 if family == "gemma3_text" else None),
        tied_embeddings=_tied(outer, r, family),
    )
    if fields["head_dim"] < 1:
        r.fail(f"hidden_size {hidden} / {heads} heads leaves no head dimension", "num_attention_heads")
    fields.update(_biases(r, family))
    if family.startswith("hunyuan"):
        fields["qk_norm"] = r.bool("use_qk_norm", default=False)
    fields["sliding_window"] = _sliding(r, family, layers)
    if family == "gemma4_text":
        fields["global_attention"] = _gemma4_global(r)
    fields["moe"] = _moe(r, family, layers)
    spec = ModelSpec(name=_name(path), title=_title(outer, path), family=family,
                     source=str(path), origin=str(path), **fields)
    if spec.heads % spec.kv_heads:
        r.fail(f"num_attention_heads ({heads}) must be a multiple of num_key_value_heads "
               f"({spec.kv_heads})", "num_key_value_heads")
    if spec.moe and spec.moe.top_k > spec.moe.experts:
        r.fail(f"{spec.moe.top_k} experts per token exceed the {spec.moe.experts} experts")
    return spec


def need_int(r: Reader, key: str, minimum: int | None = 1) -> int:
    """A required whole number: absent, or JSON null, is an error naming the key."""
    if key not in r.data:
        r.fail("missing required key", key)
    if r.data[key] is None:
        r.fail("expected a whole number, got null", key)
    return r.int(key, minimum=minimum)


def _int(r: Reader, key: str, default: int | None) -> int:
    return need_int(r, key, minimum=1) if default is None else _opt_int(r, key, default)


def _opt_int(r: Reader, key: str, default: int) -> int:
    """An int that may be absent or JSON null (then ``default``)."""
    if r.data.get(key) is None:
        r.has(key)
        return default
    return need_int(r, key, minimum=1)


def _tied(outer: Reader, r: Reader, family: str) -> bool:
    default = family in _TIED_DEFAULT
    if r is not outer and outer.data.get("tie_word_embeddings") is not None:
        default = outer.bool("tie_word_embeddings")
    return r.bool("tie_word_embeddings", default=default)


def _biases(r: Reader, family: str) -> dict[str, bool]:
    if family in ("llama", "mistral", "mixtral", "phi3", "dots1", "hunyuan", "hunyuan_v1_moe", "llama4_text"):
        qkv = r.bool("attention_bias", default=False)
        return {"attention_bias": qkv, "attention_out_bias": qkv,
                "mlp_bias": r.bool("mlp_bias", default=False)}
    if family == "internlm":
        bias = r.bool("bias", default=True)
        return {"attention_bias": bias, "attention_out_bias": bias}
    if family in _MLA and r.bool("attention_bias", default=False):
        r.fail("biases on the latent-attention projections are not represented (no published "
               "DeepSeek-V2/V3 checkpoint has them)", "attention_bias")
    return {}


def _name(path: Path) -> str:
    return path.parent.name if path.name == "config.json" and path.parent.name else path.stem


def _title(r: Reader, path: Path) -> str:
    value = r.data.get("_name_or_path")
    return value if isinstance(value, str) and value else _name(path)


def _sliding(r: Reader, family: str, layers: int) -> SlidingWindow | None:
    if family == "qwen2" and not r.bool("use_sliding_window", default=False):
        return None
    if family in ("qwen3", "qwen3_moe"):
        if r.bool("use_sliding_window", default=False):
            r.fail("sliding-window Qwen3 configs are not supported", "use_sliding_window")
        return None
    if family == "llama4_text":
        return _chunked(r, layers)
    if family in ("internlm", "bitnet", "dots1", "hunyuan", "hunyuan_v1_moe") + _MLA:
        return None
    size = r.data.get("sliding_window", 4096 if family == "gemma3_text" else None)
    r.has("sliding_window")
    if size is None:
        return None
    size = r.int("sliding_window", default=size, minimum=1)
    if family == "gemma2":
        return SlidingWindow(size, every=2)
    if family == "gemma3_text":
        if r.has("layer_types") and r.data.get("layer_types") is not None:
            return SlidingWindow(size, every=_every_from_layer_types(r, layers))
        return SlidingWindow(size, every=r.int("sliding_window_pattern", default=6, minimum=1))
    if family in ("gpt_oss", "gemma4_text"):
        return SlidingWindow(size, every=_every_from_layer_types(r, layers))
    return SlidingWindow(size, every=0)


def _gemma4_global(r: Reader) -> GlobalAttention:
    """Gemma 4's full-attention layers: ``num_global_key_value_heads`` heads of
    ``global_head_dim``, V from the K projection when ``attention_k_eq_v``. Per-layer
    embeddings, KV sharing across layers, the MoE block and the double-wide MLP are refused."""
    for key, absent in _GEMMA4_ABSENT.items():
        if r.data.get(key) not in (None, absent):
            r.fail(f"{r.data[key]!r}: this Gemma 4 feature (per-layer embeddings, KV shared across layers, "
                   f"the MoE block or the double-wide MLP) is not represented in simlow's ModelSpec; "
                   f"only {absent!r} or null is read", key)
        r.has(key)
    kv = _opt_int(r, "num_global_key_value_heads", _opt_int(r, "num_key_value_heads", 1))
    return GlobalAttention(kv_heads=kv, head_dim=_opt_int(r, "global_head_dim", _opt_int(r, "head_dim", 256)),
                           k_eq_v=r.bool("attention_k_eq_v", default=False))


def _periodic(r: Reader, key: str, full: list[int], layers: int) -> int:
    """The period k of global layers k-1, 2k-1, ... (0: none global)."""
    if not full:
        return 0
    k = full[0] + 1
    if full != list(range(k - 1, layers, k)):
        r.fail("the pattern of global (full-attention) layers is not periodic (every k-th layer)", key)
    return k


def _every_from_layer_types(r: Reader, layers: int) -> int:
    """``layer_types`` as a period k (layers k-1, 2k-1, ... full, the rest windowed)."""
    types = r.str_list("layer_types", required=False)
    if not types:
        return 2  # gpt-oss default: alternating, sliding first
    if len(types) != layers:
        r.fail(f"has {len(types)} entries for {layers} layers", "layer_types")
    return _periodic(r, "layer_types", [i for i, t in enumerate(types) if t == "full_attention"], layers)


def _chunked(r: Reader, layers: int) -> SlidingWindow | None:
    """Llama 4: chunked attention of ``attention_chunk_size`` on RoPE layers, global NoPE layers."""
    if r.data.get("attention_chunk_size") is None:
        r.has("attention_chunk_size")
        return None
    size = need_int(r, "attention_chunk_size", minimum=1)
    flags = r.list("no_rope_layers", required=False)
    if not flags:
        every = r.int("no_rope_layer_interval", default=4, minimum=1)
        return SlidingWindow(size, every=every)
    if len(flags) != layers or any(f not in (0, 1) or isinstance(f, bool) for f in flags):
        r.fail(f"expected {layers} entries of 0 or 1", "no_rope_layers")
    return SlidingWindow(size, every=_periodic(r, "no_rope_layers", [i for i, f in enumerate(flags) if f == 0], layers))


def _per_layer(r: Reader, key: str, default: int | None = None, minimum: int = 1) -> int:
    """An int, or a per-layer list of one repeated int (hunyuan writes both)."""
    value = r.data.get(key)
    if isinstance(value, list):
        r.has(key)
        if not value or any(v != value[0] for v in value) or isinstance(value[0], bool) \
                or not isinstance(value[0], int) or value[0] < minimum:
            r.fail(f"expected one whole number >= {minimum} for every layer, got {value[:8]}", key)
        return value[0]
    return r.int(key, default=default, minimum=minimum)


def _moe(r: Reader, family: str, layers: int) -> MoE | None:
    if family == "mixtral":
        return MoE(experts=need_int(r, "num_local_experts", minimum=1), top_k=need_int(r, "num_experts_per_tok", minimum=1),
                   expert_intermediate_size=need_int(r, "intermediate_size", minimum=1))
    if family == "gpt_oss":
        return MoE(experts=need_int(r, "num_local_experts", minimum=1), top_k=need_int(r, "experts_per_token", minimum=1),
                   expert_intermediate_size=need_int(r, "intermediate_size", minimum=1),
                   expert_bias=True, router_bias=True)
    if family == "qwen3_moe":
        if r.int("decoder_sparse_step", default=1, minimum=1) != 1:
            r.fail("only decoder_sparse_step 1 is supported", "decoder_sparse_step")
        dense = r.list("mlp_only_layers", required=False)
        if dense != list(range(len(dense))):
            r.fail("only a leading run of dense layers (0, 1, ..., N-1) is supported", "mlp_only_layers")
        return MoE(experts=need_int(r, "num_experts", minimum=1), top_k=need_int(r, "num_experts_per_tok", minimum=1),
                   expert_intermediate_size=need_int(r, "moe_intermediate_size", minimum=1), dense_layers=len(dense))
    if family == "llama4_text":
        return _llama4_moe(r, layers)
    if family == "dots1":
        return _deepseek_moe(r, layers, router_bias=True)
    if family in _MLA:
        return _deepseek_moe(r, layers, router_bias=r.str("topk_method", default="greedy") == "noaux_tc")
    if family.startswith("hunyuan"):
        return _hunyuan_moe(r)
    return None


def _llama4_moe(r: Reader, layers: int) -> MoE:
    if r.int("interleave_moe_layer_step", default=1, minimum=1) != 1:
        r.fail("only a MoE block in every layer (1) is supported; alternating dense and MoE layers "
               "(Llama 4 Maverick) are not", "interleave_moe_layer_step")
    moe_layers = r.list("moe_layers", required=False)
    if moe_layers and moe_layers != list(range(layers)):
        r.fail("only a MoE block in every layer is supported", "moe_layers")
    width = need_int(r, "intermediate_size", minimum=1)
    return MoE(experts=need_int(r, "num_local_experts", minimum=1), top_k=need_int(r, "num_experts_per_tok", minimum=1),
               expert_intermediate_size=width, shared_experts=1, shared_intermediate_size=width)


def _deepseek_moe(r: Reader, layers: int, router_bias: bool) -> MoE:
    """DeepSeek-style MoE (dots1, DeepSeek-V2/V3): routed + shared experts after dense layers;
    ``router_bias``: the router's expert score-correction bias (``e_score_correction_bias``)."""
    if r.int("moe_layer_freq", default=1, minimum=1) != 1:
        r.fail("only a MoE block in every layer after the dense ones (1) is supported", "moe_layer_freq")
    dense = r.int("first_k_dense_replace", default=0, minimum=0)
    if dense > layers:
        r.fail(f"{dense} dense layers of {layers}", "first_k_dense_replace")
    width = need_int(r, "moe_intermediate_size", minimum=1)
    return MoE(experts=need_int(r, "n_routed_experts", minimum=1), top_k=need_int(r, "num_experts_per_tok", minimum=1),
               expert_intermediate_size=width, shared_experts=r.int("n_shared_experts", default=0, minimum=0),
               shared_intermediate_size=width, dense_layers=dense, router_bias=router_bias)


def _hunyuan_moe(r: Reader) -> MoE | None:
    experts = r.int("num_experts", default=1, minimum=1)
    if experts == 1:
        return None
    shared = _per_layer(r, "num_shared_expert", default=0, minimum=0) if r.bool("use_mixed_mlp_moe", default=False) else 0
    return MoE(experts=experts, top_k=_per_layer(r, "moe_topk"),
               expert_intermediate_size=_per_layer(r, "moe_intermediate_size", default=need_int(r, "intermediate_size", minimum=1)),
               shared_experts=shared, shared_intermediate_size=need_int(r, "intermediate_size", minimum=1) if shared else 0)


def _mla(r: Reader) -> MLA:
    """The latent-attention shape of a DeepSeek-V2/V3 config (``q_lora_rank`` null: none)."""
    q_rank = 0 if r.data.get("q_lora_rank") is None else need_int(r, "q_lora_rank", minimum=1)
    r.has("q_lora_rank")
    return MLA(kv_lora_rank=need_int(r, "kv_lora_rank", minimum=1), q_lora_rank=q_rank,
               qk_nope_head_dim=need_int(r, "qk_nope_head_dim", minimum=1),
               qk_rope_head_dim=need_int(r, "qk_rope_head_dim", minimum=0),
               v_head_dim=need_int(r, "v_head_dim", minimum=1))
