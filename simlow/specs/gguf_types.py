"""A ``.gguf`` file's own tensor types as a ``Scheme``: the file is sized as it is stored.

``file_scheme(header, model)`` gives every weight tensor of ``model`` (the shape read from
the same header) the GGML type its tensor has in the file: a matrix (``blk.3.attn_q``,
``token_embd``, ``ffn_up_exps``...) takes its own tensor's type, after its shape is checked
against the file's (a fused tensor, phi3's ``attn_qkv`` or an ``ffn_up`` holding gate and up,
gives its type to each part); norms and biases, which simlow counts as one tensor per layer, take the
type of the file's norm / bias tensors of that layer. Types that differ between layers
become layer overrides, so ``Scheme.tensor_format`` returns the file's type tensor by
tensor. The notes say the type counts and whether simlow's tensors at these types add up
to the file's tensor data exactly (and what is left over when they do not).

Activations fp16 and an F16 KV cache are llama.cpp's defaults; the compute format is that
of the type holding most of the weight bytes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from types import MappingProxyType

from simlow import formats
from simlow.errors import SimlowError
from simlow.formats import StorageFormat
from simlow.specs.gguf_file import GGUFHeader, GGUFTensor
from simlow.specs.model import FfnKind, ModelSpec, TensorClass as C, WeightTensor
from simlow.specs.scheme import LayerKind, LayerSelector, Override, Scheme, SchemeKind, weight_bytes
from simlow.specs.tensors import weight_tensors

_MERGED = (C.NORM, C.BIAS)   # simlow sums these per layer; the file stores them one by one


def file_scheme(h: GGUFHeader, model: ModelSpec) -> tuple[Scheme, tuple[str, ...]]:
    """The scheme that gives ``model``'s tensors the types of ``h``'s tensors, and notes."""
    by_name = {t.name: t for t in h.tensors}
    claimed: set[str] = set()
    chosen: dict[tuple[C, int | None], list[StorageFormat]] = defaultdict(list)
    merged = _merged_by_layer(h.tensors)
    for t in weight_tensors(model):
        if t.cls in _MERGED:
            group = merged.get((t.cls, t.layer), [])
            claimed.update(g.name for g in group)
            if group:  # the type holding most bytes; a mixed group is reported by the byte check
                fmt = _fmt(h, max(group, key=lambda g: g.n_bytes))
                chosen[(t.cls, t.layer)].append(fmt)
            continue
        ft, rows = _find(by_name, model, t)
        if ft is None:
            raise SimlowError(f"{h.path}: tensor {t.name}.weight missing (the header's metadata implies it)")
        _check_shape(h, t, ft, rows)
        claimed.add(ft.name)
        chosen[(t.cls, t.layer)].append(_fmt(h, ft))
    scheme = _scheme(h, chosen)
    return scheme, _notes(h, model, scheme, claimed)


def type_counts(h: GGUFHeader) -> str:
    """``"210 Q4_1, 61 F32, 1 Q8_0"``: how many of the file's tensors have each type."""
    return ", ".join(f"{n} {ty}" for ty, n in Counter(t.type for t in h.tensors).most_common())


def _merged_by_layer(tensors: tuple[GGUFTensor, ...]) -> dict[tuple[C, int | None], list[GGUFTensor]]:
    out: dict[tuple[C, int | None], list[GGUFTensor]] = defaultdict(list)
    for t in tensors:
        parts = t.name.split(".")
        layer = int(parts[1]) if parts[0] == "blk" and len(parts) > 2 and parts[1].isdigit() else None
        if "norm" in parts[-2 if len(parts) > 1 else -1]:   # norm weights and layer-norm biases
            out[(C.NORM, layer)].append(t)
        elif t.name.endswith(".bias") or ".attn_sinks" in t.name:
            out[(C.BIAS, layer)].append(t)
    return out


def _fmt(h: GGUFHeader, t: GGUFTensor) -> StorageFormat:
    try:
        return formats.get(t.type)
    except SimlowError:
        raise SimlowError(f"{h.path}: tensor {t.name}: GGML type {t.type} has no storage format in "
                          "simlow.formats") from None


def _find(by_name: dict[str, GGUFTensor], m: ModelSpec, t: WeightTensor) -> tuple[GGUFTensor | None, int]:
    """The file tensor holding ``t`` and its rows: fused tensors (phi3's ``attn_qkv``, and
    ``ffn_up`` holding gate and up when there is no ``ffn_gate``) hold several of simlow's."""
    stem, _, part = t.name.rpartition(".")
    if part in ("attn_q", "attn_k", "attn_v") and f"{t.name}.weight" not in by_name:
        return by_name.get(f"{stem}.attn_qkv.weight"), m.q_dim + 2 * m.kv_dim
    if part in ("ffn_gate", "ffn_up") and m.ffn is FfnKind.GATED and f"{stem}.ffn_gate.weight" not in by_name:
        return by_name.get(f"{stem}.ffn_up.weight"), 2 * t.rows
    return by_name.get(f"{t.name}.weight") or by_name.get(t.name), t.rows


def _check_shape(h: GGUFHeader, t: WeightTensor, ft: GGUFTensor, rows: int) -> None:
    if ft.shape[0] != t.cols or ft.n_elements != rows * t.cols * t.count:
        want = [t.cols, rows] + ([t.count] if t.count > 1 else [])
        raise SimlowError(f"{h.path}: tensor {ft.name} has shape {list(ft.shape)}, but the header's metadata "
                          f"implies {want}")


def _scheme(h: GGUFHeader, chosen: dict[tuple[C, int | None], list[StorageFormat]]) -> Scheme:
    weights: dict[str, StorageFormat] = {}
    overrides: list[Override] = []
    per_class: dict[C, dict[int | None, StorageFormat]] = defaultdict(dict)
    for (cls, layer), fmts in chosen.items():
        per_class[cls][layer] = fmts[0]
    for cls, layers in per_class.items():
        base = layers.get(None) or Counter(layers.values()).most_common(1)[0][0]
        weights[cls.value] = base
        others: dict[StorageFormat, list[int]] = defaultdict(list)
        for layer, fmt in layers.items():
            if layer is not None and fmt != base:
                others[fmt].append(layer)
        overrides += [Override((cls,), LayerSelector(LayerKind.LIST, layers=frozenset(ls)), fmt)
                      for fmt, ls in others.items()]
    by_bytes = Counter()
    for t in h.tensors:
        by_bytes[t.type] += t.n_bytes
    main = formats.get(by_bytes.most_common(1)[0][0]) if by_bytes else formats.get("f32")
    weights["default"] = main
    return Scheme(name=f"file:{main.name}", title=f"the types stored in {h.path.name} ({type_counts(h)})", kind=SchemeKind.WEIGHTS,
                  weights=MappingProxyType(weights), overrides=tuple(overrides), activations="fp16",
                  kv_cache=formats.get("f16"), compute=main.compute,
                  source=f"tensor types read from the GGUF header of {h.path.name}", origin=str(h.path))


def _notes(h: GGUFHeader, model: ModelSpec, scheme: Scheme, claimed: set[str]) -> tuple[str, ...]:
    counts = type_counts(h)
    file_bytes = sum(t.n_bytes for t in h.tensors)
    ours = weight_bytes(model, scheme)
    notes = [f"weights sized with the types stored in {h.path.name}: {counts}; the file's tensors hold "
             f"{file_bytes:,} B"]
    if ours != file_bytes:
        extra = [t for t in h.tensors if t.name not in claimed]
        left = f"; tensors simlow's shape does not model: {', '.join(t.name for t in extra[:6])}" + \
            (f" and {len(extra) - 6} more" if len(extra) > 6 else "") if extra else ""
        notes.append(f"simlow's tensors at these types hold {ours:,} B, {ours - file_bytes:+,} B from the "
                     f"file{left}")
    return tuple(notes)
