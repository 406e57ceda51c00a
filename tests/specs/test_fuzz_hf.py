"""Fuzzing the Hugging Face config.json loader: every key of real configs (a llama, a MoE, a
gemma3 wrapper, a DeepSeek with MLA, a quantized one) set to random JSON values, keys
dropped, and random bytes. Each case gives a valid ``ModelSpec`` (whose tensors can be
counted) and scheme, or a ``SimlowError`` naming the file, never another exception, within
the per-example deadline.
"""

from __future__ import annotations

import json
import os
import tempfile

from hypothesis import HealthCheck, given, settings, strategies as st

from simlow.errors import SimlowError
from simlow.memory import resolve_scheme
from simlow.specs.hf import read_hf_config
from simlow.specs.model import ModelSpec
from simlow.specs.scheme import SchemeKind
from simlow.specs.tensors import param_count

from .test_hf_families import DEEPSEEK_V2_LITE, FAMILIES, GEMMA3_4B, LLAMA2_7B

QUANTIZED = {**LLAMA2_7B, "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128,
                                                  "zero_point": True}}
BASES = [LLAMA2_7B, FAMILIES["hunyuan-a13b"], FAMILIES["dots-llm1"], GEMMA3_4B, FAMILIES["llama-4-scout"],
         DEEPSEEK_V2_LITE, QUANTIZED]
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
SMALL = st.integers(-3, 300) | st.sampled_from([0.5, 64.0, 2048.0, 1e300, -1.0, 2**63])
FUZZ = settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def _check(text: str) -> None:
    d = tempfile.mkdtemp()
    path = os.path.join(d, "config.json")
    try:
        with open(path, "w") as f:
            f.write(text)
        try:
            m = read_hf_config(path)
            assert isinstance(m, ModelSpec)
            assert param_count(m) >= 0 and m.layers >= 1
            scheme, _ = resolve_scheme(m, None)
            assert scheme.kind is SchemeKind.WEIGHTS
        except SimlowError as err:
            assert path in str(err)
    finally:
        os.unlink(path)
        os.rmdir(d)


def _set(cfg: dict, key: str, value) -> dict:
    if key in cfg or not isinstance(cfg.get("text_config"), dict):
        return {**cfg, key: value}
    return {**cfg, "text_config": {**cfg["text_config"], key: value}}


def _keys(cfg: dict) -> list[str]:
    return sorted(set(cfg) | set(cfg.get("text_config") or {}) | {"quantization_config"})


@FUZZ
@given(st.data())
def test_random_values_in_each_key(data):
    base = data.draw(st.sampled_from(BASES))
    edits = data.draw(st.lists(st.tuples(st.sampled_from(_keys(base)), JSON | SMALL), min_size=1, max_size=3))
    cfg = base
    for key, value in edits:
        cfg = _set(cfg, key, value)
    _check(json.dumps(cfg))


@FUZZ
@given(st.data())
def test_keys_dropped(data):
    base = data.draw(st.sampled_from(BASES))
    drop = data.draw(st.sets(st.sampled_from(sorted(base)), min_size=1, max_size=4))
    _check(json.dumps({k: v for k, v in base.items() if k not in drop}))


@FUZZ
@given(st.text(max_size=200) | st.sampled_from(["[" * 100_000, '{"a":' * 50_000, "\ufeff{}", "NaN", "{}"]))
def test_random_text(text):
    _check(text)
