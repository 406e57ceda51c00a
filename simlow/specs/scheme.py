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
    overrides:                       # the first override that matches wins
      - {tensors: [attn_v, attn_k], when: {experts: 8}, format: q8_0}
      - {tensors: [attn_v, ffn_down], layers: more_bits, format: q6_k}
    tied_embedding: lm_head          # optional: a tied embedding takes the lm_head format
                                     # (llama.cpp) instead of the embedding one (default)
    gguf_fallback: true              # optional: llama.cpp's fallback when a row is not a
                                     # whole number of blocks (Q4_K -> Q5_0, ...)
    activations: fp16
    kv_cache: f16
    compute: int8                    # optional; default: the activations' format

Layer selectors: ``all``, ``more_bits`` (llama.cpp ``use_more_bits``: the first and last
eighth of the layers and every third layer between), ``first:N``, ``last:N``,
``first_frac:N`` (layers below ``n_layers // N``, llama.cpp's ``i_layer < n_layer/16``), or a
list of layer indices. ``when`` conditions on the model (all must hold): ``experts: N``
(exactly N routed experts, llama.cpp ``n_expert == 8``), ``min_gqa: N`` (heads / kv_heads at
least N), ``layers: N`` (exactly N layers; llama.cpp calls an 80-layer llama ``LLM_TYPE_70B``).
Formats are names from ``simlow.formats``.

``Scheme.tensor_format(model, tensor)`` applies all of this to one weight tensor;
``weight_bytes(model, scheme)`` sums a model's weights exactly, as a GGUF's tensor data.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from simlow import formats
from simlow.errors import SimlowError
from simlow.formats import StorageFormat
from simlow.specs.hardware import COMPUTE_FORMATS
from simlow.specs.model import ModelSpec, TensorClass, WeightTensor
from simlow.specs.yamlfile import Reader, open_spec
from simlow.specs.tensors import weight_tensors

SCHEMA_VERSION = 1
_GROUPS = ("default", "attention", "ffn", "experts")
_WEIGHT_KEYS = _GROUPS + tuple(c.value for c in TensorClass)
_ALWAYS_F32 = (TensorClass.NORM, TensorClass.BIAS, TensorClass.ROUTER, TensorClass.ROPE)


class LayerKind(enum.Enum):
    """How an override picks layers (``layers:`` of a scheme file)."""
    ALL = "all"
    MORE_BITS = "more_bits"     # llama.cpp use_more_bits(i_layer, n_layers)
    FIRST = "first"             # first:N
    LAST = "last"               # last:N
    FIRST_FRAC = "first_frac"   # first_frac:N, the first n_layers // N
    LIST = "list"               # a list of layer indices


_WITH_COUNT = (LayerKind.FIRST, LayerKind.LAST, LayerKind.FIRST_FRAC)


@dataclass(frozen=True)
class LayerSelector:
    """Which layers an override applies to: ``kind`` with its count ``n`` (first, last,
    first_frac) or its ``layers`` (list)."""

    kind: LayerKind = LayerKind.ALL
    n: int = 0
    layers: frozenset[int] = frozenset()

    def selects(self, layer: int | None, n_layers: int) -> bool:
        if self.kind is LayerKind.ALL:
            return True
        if layer is None:
            return False
        if self.kind is LayerKind.MORE_BITS:
            eighth = n_layers // 8
            return layer < eighth or layer >= 7 * n_layers // 8 or (layer - eighth) % 3 == 2
        if self.kind is LayerKind.FIRST:
            return layer < self.n
        if self.kind is LayerKind.LAST:
            return layer >= n_layers - self.n
        if self.kind is LayerKind.FIRST_FRAC:
            return layer < n_layers // self.n
        return layer in self.layers


@dataclass(frozen=True)
class Condition:
    """A condition on the model shape (``when:`` of an override); None = any."""

    experts: int | None = None
    min_gqa: int | None = None
    layers: int | None = None

    @property
    def empty(self) -> bool:
        return self.experts is None and self.min_gqa is None and self.layers is None

    def holds(self, model: ModelSpec) -> bool:
        n_expert = model.moe.experts if model.moe else 0
        return ((self.experts is None or n_expert == self.experts)
                and (self.min_gqa is None or model.heads // model.kv_heads >= self.min_gqa)
                and (self.layers is None or model.layers == self.layers))


@dataclass(frozen=True)
class Override:
    tensors: tuple[TensorClass, ...]
    layers: LayerSelector
    format: StorageFormat
    when: Condition = Condition()

    def applies(self, cls: TensorClass, layer: int | None, n_layers: int, model: ModelSpec | None) -> bool:
        if cls not in self.tensors:
            return False
        if not self.when.empty and (model is None or not self.when.holds(model)):
            return False
        return self.layers.selects(layer, n_layers)


# llama.cpp tensor_type_fallback (src/llama-quant.cpp): a row that is not a whole number of
# blocks of the target type falls back to a 32-block type, then to F16.
_FALLBACK = {"q2_k": "q4_0", "q3_k": "q4_0", "tq1_0": "q4_0", "tq2_0": "q4_0", "q4_k": "q5_0",
             "q5_k": "q5_1", "q6_k": "q8_0", "iq4_xs": "iq4_nl", "iq3_s": "iq4_nl",
             "iq3_xxs": "iq4_nl", "iq2_s": "iq4_nl", "iq2_xs": "iq4_nl", "iq2_xxs": "iq4_nl",
             "iq1_s": "iq4_nl", "iq1_m": "iq4_nl"}


class SchemeKind(enum.StrEnum):
    """A scheme of weight formats (``weights``) or of a KV-cache format only (``kv``)."""
    WEIGHTS = "weights"
    KV = "kv"


@dataclass(frozen=True)
class Scheme:
    name: str
    title: str
    kind: SchemeKind
    weights: Mapping[str, StorageFormat]      # class / group / default -> format
    overrides: tuple[Override, ...]
    activations: str
    kv_cache: StorageFormat
    compute: str
    source: str = ""
    origin: str = field(default="", compare=False)
    tied_embedding: str = "embedding"         # or "lm_head"
    gguf_fallback: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SchemeKind(self.kind))  # a reader may pass the text

    def weight_format(self, cls: TensorClass, layer: int | None, n_layers: int,
                      model: ModelSpec | None = None) -> StorageFormat:
        """The storage format of a tensor of class ``cls`` in layer ``layer``.

        Overrides with a ``when:`` condition apply only when ``model`` is given; prefer
        ``tensor_format``, which also applies the tied-embedding and fallback rules.
        """
        for o in self.overrides:
            if o.applies(cls, layer, n_layers, model):
                return o.format
        for key in (cls.value, cls.group):
            if key in self.weights:
                return self.weights[key]
        if cls in _ALWAYS_F32:
            return formats.get("f32")
        return self.weights["default"]

    def tensor_format(self, model: ModelSpec, t: WeightTensor) -> StorageFormat:
        """The storage format of weight tensor ``t`` of ``model``, every rule applied."""
        cls = t.cls
        if cls is TensorClass.EMBEDDING and model.tied_embeddings and self.tied_embedding == "lm_head":
            cls = TensorClass.LM_HEAD
        fmt = self.weight_format(cls, t.layer, model.layers, model)
        if not self.gguf_fallback or t.cols % fmt.block == 0:
            return fmt
        if cls is TensorClass.LM_HEAD:  # llama.cpp: output tensor -> Q8_0 when nx % qk_k != 0
            return formats.get("q8_0")
        fallback = formats.get(_FALLBACK.get(fmt.name, "f16"))
        return fallback if t.cols % fallback.block == 0 else formats.get("f16")

    def with_kv(self, kv: "Scheme") -> "Scheme":
        """This weight scheme with the KV cache format of the kv scheme ``kv``."""
        if kv.kind is not SchemeKind.KV:
            raise SimlowError(f"{kv.name!r} is a {kv.kind} scheme, not a KV-cache scheme")
        from dataclasses import replace

        return replace(self, name=f"{self.name}+{kv.name}", kv_cache=kv.kv_cache)


def tensor_formats(model: ModelSpec, scheme: Scheme) -> list[tuple[WeightTensor, StorageFormat, int]]:
    """Each weight tensor of ``model`` with its format under ``scheme`` and its exact bytes."""
    out = []
    for t in weight_tensors(model):
        fmt = scheme.tensor_format(model, t)
        out.append((t, fmt, fmt.tensor_bytes(t.rows, t.cols) * t.count))
    return out


def weight_bytes(model: ModelSpec, scheme: Scheme) -> int:
    """Exact bytes of all of ``model``'s weights under ``scheme`` (a GGUF's tensor data)."""
    return sum(b for _, _, b in tensor_formats(model, scheme))


def read_scheme(path: Path | str) -> Scheme:
    """Read and validate one scheme YAML file."""
    r, name = open_spec(path, SCHEMA_VERSION)
    kind = SchemeKind(r.str("kind", default="weights", choices=tuple(k.value for k in SchemeKind)))
    weights: dict[str, StorageFormat] = {}
    overrides: tuple[Override, ...] = ()
    if kind is SchemeKind.WEIGHTS:
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
        tied_embedding=r.str("tied_embedding", default="embedding", choices=("embedding", "lm_head")),
        gguf_fallback=r.bool("gguf_fallback", default=False),
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
        selector = LayerSelector(LayerKind.LIST, layers=frozenset(raw))
    else:
        text = r.str("layers", default="all")
        word, _, arg = text.partition(":")
        kind = next((k for k in LayerKind if k.value == word and k is not LayerKind.LIST), None)
        if kind is None or (kind in _WITH_COUNT) != bool(arg) or (arg and not (arg.isdigit() and int(arg) > 0)):
            r.fail(f"{text!r} is not a layer selector (all, more_bits, first:N, last:N, first_frac:N, "
                   "or a list)", "layers")
        selector = LayerSelector(kind, int(arg) if arg else 0)
    o = Override(tuple(classes), selector, _format(r, "format"), _condition(r.sub("when", required=False)))
    r.done()
    return o


def _condition(r: Reader | None) -> Condition:
    if r is None:
        return Condition()
    c = Condition(experts=r.int("experts", default=0, minimum=0) or None,
                  min_gqa=r.int("min_gqa", default=0, minimum=0) or None,
                  layers=r.int("layers", default=0, minimum=0) or None)
    r.done()
    if c.empty:
        r.fail("needs at least one of experts, min_gqa, layers")
    return c
