"""Quantization schemes: which storage format each tensor class uses, and what the
arithmetic runs in.

A scheme of kind ``weights`` gives a format per tensor class (or group, or a default),
layer-selective overrides (llama.cpp's K-quant mixes give some layers more bits), the
activation format, the KV-cache format and the compute format (the number format the
matrix multiplies run in on hardware that has it). A scheme of kind ``kv`` gives only a
KV-cache format and is applied on top of a weight scheme (``--kv-scheme``).

YAML schema (version 1)::

    schema_version: 1
    name: q4_k_m
    title: llama.cpp Q4_K_M
    source: "llama.cpp src/llama-quant.cpp, llama_tensor_get_type"
    kind: weights                    # weights | kv
    weights:                         # class, group (attention, ffn, experts) or default
      default: q4_k
      lm_head: q6_k
    overrides:
      - {tensors: [attn_v, ffn_down], layers: more_bits, format: q6_k}
    activations: fp16
    kv_cache: f16
    compute: int8                    # optional; default: the activations' format

Layer selectors: ``all``, ``more_bits`` (llama.cpp ``use_more_bits``: the first and last
eighth of the layers and every third layer between), ``first:N``, ``last:N``, or a list of
layer indices. Formats are names from ``simlow.formats``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from simlow import formats
from simlow.errors import SimlowError
from simlow.formats import StorageFormat
from simlow.specs.hardware import COMPUTE_FORMATS
from simlow.specs.model import TensorClass
from simlow.specs.yamlfile import Reader, load_yaml

SCHEMA_VERSION = 1
_GROUPS = ("default", "attention", "ffn", "experts")
_WEIGHT_KEYS = _GROUPS + tuple(c.value for c in TensorClass)
_ALWAYS_F32 = (TensorClass.NORM, TensorClass.BIAS, TensorClass.ROUTER, TensorClass.ROPE)


@dataclass(frozen=True)
class LayerSelector:
    """Which layers an override applies to."""

    text: str

    def selects(self, layer: int | None, n_layers: int) -> bool:
        if layer is None:
            return False
        kind, _, arg = self.text.partition(":")
        if kind == "all":
            return True
        if kind == "more_bits":  # llama.cpp use_more_bits(i_layer, n_layers)
            eighth = n_layers // 8
            return layer < eighth or layer >= 7 * n_layers // 8 or (layer - eighth) % 3 == 2
        if kind == "first":
            return layer < int(arg)
        if kind == "last":
            return layer >= n_layers - int(arg)
        if kind == "list":
            return str(layer) in arg.split(",")
        raise AssertionError(self.text)  # validated at load


@dataclass(frozen=True)
class Override:
    tensors: tuple[TensorClass, ...]
    layers: LayerSelector
    format: StorageFormat


@dataclass(frozen=True)
class Scheme:
    name: str
    title: str
    kind: str                                 # "weights" or "kv"
    weights: Mapping[str, StorageFormat]      # class / group / default -> format
    overrides: tuple[Override, ...]
    activations: str
    kv_cache: StorageFormat
    compute: str
    source: str = ""
    origin: str = field(default="", compare=False)

    def weight_format(self, cls: TensorClass, layer: int | None, n_layers: int) -> StorageFormat:
        """The storage format of a tensor of class ``cls`` in layer ``layer``."""
        for o in self.overrides:
            if cls in o.tensors and o.layers.selects(layer, n_layers):
                return o.format
        for key in (cls.value, cls.group):
            if key in self.weights:
                return self.weights[key]
        if cls in _ALWAYS_F32:
            return formats.get("f32")
        return self.weights["default"]

    def with_kv(self, kv: "Scheme") -> "Scheme":
        """This weight scheme with the KV cache format of the kv scheme ``kv``."""
        if kv.kind != "kv":
            raise SimlowError(f"{kv.name!r} is a {kv.kind} scheme, not a KV-cache scheme")
        from dataclasses import replace

        return replace(self, name=f"{self.name}+{kv.name}", kv_cache=kv.kv_cache)


def read_scheme(path: Path | str) -> Scheme:
    """Read and validate one scheme YAML file."""
    path = Path(path)
    r = Reader(load_yaml(path), str(path))
    version = r.int("schema_version")
    if version != SCHEMA_VERSION:
        r.fail(f"schema_version {version} is not supported (this simlow reads {SCHEMA_VERSION})",
               "schema_version")
    name = r.str("name")
    if name != path.stem:
        r.fail(f"name {name!r} must equal the file name stem {path.stem!r}", "name")
    kind = r.str("kind", default="weights", choices=("weights", "kv"))
    weights: dict[str, StorageFormat] = {}
    overrides: tuple[Override, ...] = ()
    if kind == "weights":
        w = r.sub("weights")
        for key in w.keys():
            if key not in _WEIGHT_KEYS:
                w.fail(f"unknown tensor class or group (valid: {', '.join(_WEIGHT_KEYS)})", key)
            weights[key] = _format(w, key)
        w.done()
        if "default" not in weights:
            w.fail("needs a default format", "default")
        overrides = tuple(_override(o) for o in r.readers("overrides", required=False))
    activations = r.str("activations", default="fp16", choices=COMPUTE_FORMATS)
    scheme = Scheme(
        name=name,
        title=r.str("title"),
        kind=kind,
        source=r.str("source"),
        weights=MappingProxyType(weights),
        overrides=overrides,
        activations=activations,
        kv_cache=_format(r, "kv_cache"),
        compute=r.str("compute", default=activations, choices=COMPUTE_FORMATS),
        origin=str(path),
    )
    r.done()
    return scheme


def _format(r: Reader, key: str) -> StorageFormat:
    text = r.str(key)
    try:
        return formats.get(text)
    except SimlowError as err:
        raise SimlowError(f"{r.where(key)}: {err}") from None


def _override(r: Reader) -> Override:
    classes = []
    for name in r.str_list("tensors"):
        try:
            classes.append(TensorClass(name))
        except ValueError:
            r.fail(f"unknown tensor class {name!r} (valid: {', '.join(c.value for c in TensorClass)})", "tensors")
    raw = r.data.get("layers", "all")
    if isinstance(raw, list):
        if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in raw):
            r.fail("a list of layers must hold non-negative whole numbers", "layers")
        r.has("layers")
        selector = LayerSelector("list:" + ",".join(str(x) for x in raw))
    else:
        text = r.str("layers", default="all")
        kind, _, arg = text.partition(":")
        if kind not in ("all", "more_bits", "first", "last") or (kind in ("first", "last") and not arg.isdigit()):
            r.fail(f"{text!r} is not a layer selector (all, more_bits, first:N, last:N, or a list)", "layers")
        selector = LayerSelector(text)
    o = Override(tuple(classes), selector, _format(r, "format"))
    r.done()
    return o
