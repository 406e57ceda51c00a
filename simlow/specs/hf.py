"""Model shapes from a Hugging Face ``config.json``.

``read_hf_config(path)`` maps the config of a supported ``model_type`` (llama, mistral,
mixtral, qwen2, qwen3, qwen3_moe, gemma2, gpt_oss) onto a ``ModelSpec``. The shape is the
Hugging Face checkpoint's: ``param_count()`` counts its tensors (a GGUF of the same model may
add tensors, such as llama 3.1's ``rope_freqs``). A missing or mistyped key, or an
architecture feature this mapping does not represent, is a ``SimlowError`` naming the file
and the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simlow.errors import SimlowError
from simlow.specs.model import MoE, ModelSpec, SlidingWindow
from simlow.specs.yamlfile import Reader

SUPPORTED = ("llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "gemma2", "gpt_oss")
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": {}, "mistral": {}, "mixtral": {}, "qwen2": {"attention_bias": True},
    "qwen3": {"qk_norm": True}, "qwen3_moe": {"qk_norm": True},
    "gemma2": {"norms_per_layer": 4}, "gpt_oss": {"attention_bias": True, "attention_out_bias": True,
                                                  "attention_sinks": True},
}


def read_hf_config(path: Path | str) -> ModelSpec:
    """Read a Hugging Face ``config.json`` into a ``ModelSpec``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise SimlowError(f"{path}: cannot read ({err.strerror})") from None
    except json.JSONDecodeError as err:
        raise SimlowError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from None
    r = Reader(data, str(path))
    model_type = r.str("model_type")
    if model_type not in SUPPORTED:
        r.fail(f"{model_type!r} is not supported (supported: {', '.join(SUPPORTED)})", "model_type")
    hidden = r.int("hidden_size", minimum=1)
    heads = r.int("num_attention_heads", minimum=1)
    layers = r.int("num_hidden_layers", minimum=1)
    fields: dict[str, Any] = dict(_FAMILY_DEFAULTS[model_type])
    fields.update(
        vocab_size=r.int("vocab_size", minimum=1),
        hidden_size=hidden,
        layers=layers,
        heads=heads,
        kv_heads=_opt_int(r, "num_key_value_heads", heads),
        head_dim=_opt_int(r, "head_dim", hidden // heads),
        intermediate_size=r.int("intermediate_size", minimum=1),
        max_context=r.int("max_position_embeddings", minimum=1),
        tied_embeddings=r.bool("tie_word_embeddings", default=model_type == "gemma2"),
    )
    if model_type in ("llama", "mistral", "mixtral"):
        fields["attention_bias"] = r.bool("attention_bias", default=False)
        fields["attention_out_bias"] = fields["attention_bias"]
        fields["mlp_bias"] = r.bool("mlp_bias", default=False)
    fields["sliding_window"] = _sliding(r, model_type, layers)
    fields["moe"] = _moe(r, model_type, layers)
    spec = ModelSpec(name=_name(path), title=_title(r, path), family=model_type,
                     source=str(path), origin=str(path), **fields)
    if spec.heads % spec.kv_heads:
        r.fail(f"num_attention_heads ({heads}) must be a multiple of num_key_value_heads "
               f"({spec.kv_heads})", "num_key_value_heads")
    return spec


def _opt_int(r: Reader, key: str, default: int) -> int:
    """An int that may be absent or JSON null (then ``default``)."""
    if r.data.get(key) is None:
        r.has(key)
        return default
    return r.int(key, minimum=1)


def _name(path: Path) -> str:
    return path.parent.name if path.name == "config.json" and path.parent.name else path.stem


def _title(r: Reader, path: Path) -> str:
    value = r.data.get("_name_or_path")
    return value if isinstance(value, str) and value else _name(path)


def _sliding(r: Reader, model_type: str, layers: int) -> SlidingWindow | None:
    if model_type == "qwen2" and not r.bool("use_sliding_window", default=False):
        return None
    if model_type in ("qwen3", "qwen3_moe"):
        if r.bool("use_sliding_window", default=False):
            r.fail("sliding-window Qwen3 configs are not supported", "use_sliding_window")
        return None
    size = r.data.get("sliding_window")
    r.has("sliding_window")
    if size is None:
        return None
    size = r.int("sliding_window", minimum=1)
    if model_type == "gemma2":
        return SlidingWindow(size, every=2)
    if model_type == "gpt_oss":
        return SlidingWindow(size, every=_every_from_layer_types(r, layers))
    return SlidingWindow(size, every=0)


def _every_from_layer_types(r: Reader, layers: int) -> int:
    """``layer_types`` as a period k (layers k-1, 2k-1, ... full, the rest windowed)."""
    types = r.str_list("layer_types", required=False)
    if not types:
        return 2  # gpt-oss default: alternating, sliding first
    if len(types) != layers:
        r.fail(f"has {len(types)} entries for {layers} layers", "layer_types")
    full = [i for i, t in enumerate(types) if t == "full_attention"]
    if not full:
        return 0
    k = full[0] + 1
    if full != list(range(k - 1, layers, k)):
        r.fail("the pattern of full_attention layers is not periodic (every k-th layer)", "layer_types")
    return k


def _moe(r: Reader, model_type: str, layers: int) -> MoE | None:
    if model_type == "mixtral":
        return MoE(experts=r.int("num_local_experts", minimum=1), top_k=r.int("num_experts_per_tok", minimum=1),
                   expert_intermediate_size=r.int("intermediate_size", minimum=1))
    if model_type == "gpt_oss":
        return MoE(experts=r.int("num_local_experts", minimum=1), top_k=r.int("experts_per_token", minimum=1),
                   expert_intermediate_size=r.int("intermediate_size", minimum=1),
                   expert_bias=True, router_bias=True)
    if model_type == "qwen3_moe":
        if r.int("decoder_sparse_step", default=1, minimum=1) != 1:
            r.fail("only decoder_sparse_step 1 is supported", "decoder_sparse_step")
        dense = [x for x in r.list("mlp_only_layers", required=False)]
        if dense != list(range(len(dense))):
            r.fail("only a leading run of dense layers (0, 1, ..., N-1) is supported", "mlp_only_layers")
        return MoE(experts=r.int("num_experts", minimum=1), top_k=r.int("num_experts_per_tok", minimum=1),
                   expert_intermediate_size=r.int("moe_intermediate_size", minimum=1),
                   dense_layers=len(dense))
    return None
