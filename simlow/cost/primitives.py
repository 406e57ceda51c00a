"""The technology table: energy and area of each primitive at the base node (45 nm).

Loaded strictly from ``simlow/data/cost/primitives.yaml`` (see that file for the schema
and every number's source) into frozen objects. Scaling to other nodes is
``simlow.cost.scaling``; pricing events is ``simlow.cost.pricing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from simlow.cost.sourced import Sourced, parse_confidence, parse_sourced
from simlow.cost.strictyaml import Ctx, integer, mapping, number, read_yaml, sequence, text
from simlow.cost.widthmodel import Anchor, Curve, Shape, WidthModel, feature
from simlow.errors import SimlowError, unknown_name

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "cost"
PRIMITIVES_FILE = DATA_DIR / "primitives.yaml"
JOUPPI_CLASSES = ("int8_add", "int8_mult", "fp16_add", "fp32_add", "fp16_mult", "fp32_mult")


@dataclass(frozen=True)
class Primitive:
    name: str
    model: WidthModel
    energy_pJ: Curve
    area_um2: Curve
    jouppi_class: str = ""  # default TPUv4i row for anchors that name none


@dataclass(frozen=True)
class PrimitiveTable:
    file: str
    base_node_nm: int
    primitives: tuple[Primitive, ...]

    def get(self, name: str) -> Primitive:
        for p in self.primitives:
            if p.name == name:
                return p
        raise unknown_name("primitive", name, [p.name for p in self.primitives])


@lru_cache(maxsize=8)
def load_primitives(path: Path = PRIMITIVES_FILE) -> PrimitiveTable:
    """Read and validate a primitive table (errors name the file and the key path)."""
    ctx = Ctx(str(path))
    top = mapping(read_yaml(Path(path)), ctx, ("version", "base_node_nm", "primitives"))
    if top["version"] != 1:
        raise ctx.at("version").error(f"unsupported schema version {top['version']!r} (valid: 1)")
    base = integer(top["base_node_nm"], ctx.at("base_node_nm"), minimum=1)
    pctx = ctx.at("primitives")
    raw = _names(top["primitives"], pctx)
    # primitives that normalise by another (library_ref) are built after those that do not
    order = sorted(raw, key=lambda n: isinstance(raw[n], dict) and "library_ref" in raw[n])
    built: dict[str, Primitive] = {}
    for name in order:
        built[name] = _primitive(str(name), raw[name], pctx.at(str(name)), built)
    return PrimitiveTable(str(path), base, tuple(built[n] for n in raw))


_PRIM_KEYS = ("model", "energy_pJ", "area_um2")
_PRIM_OPT = ("jouppi_class", "library_ref")


def _primitive(name: str, raw: Any, ctx: Ctx, built: dict[str, Primitive]) -> Primitive:
    m = mapping(raw, ctx, _PRIM_KEYS, _PRIM_OPT)
    try:
        model = WidthModel(m["model"])
    except ValueError:
        valid = ", ".join(w.value for w in WidthModel)
        raise ctx.at("model").error(f"unknown width model {m['model']!r} (valid: {valid})") from None
    jc = _jouppi(m.get("jouppi_class", ""), ctx.at("jouppi_class"))
    ref = _library_ref(m["library_ref"], ctx.at("library_ref"), built) if "library_ref" in m else None
    curves = []
    for key in ("energy_pJ", "area_um2"):
        norm = ref[key] if ref else None
        items = sequence(m[key], ctx.at(key))
        anchors = [_anchor(it, ctx.at(key).at(i), model, norm) for i, it in enumerate(items)]
        curves.append(_curve(anchors, ctx.at(key)))
    return Primitive(name, model, curves[0], curves[1], jc)


def _jouppi(raw: Any, ctx: Ctx) -> str:
    if raw == "":
        return ""
    if raw not in JOUPPI_CLASSES:
        raise ctx.error(f"unknown jouppi class {raw!r} (valid: {', '.join(JOUPPI_CLASSES)})")
    return raw


def _library_ref(raw: Any, ctx: Ctx, built: dict[str, Primitive]) -> dict[str, tuple[float, str, Any]]:
    """Normalisation ``{energy_pJ|area_um2: (factor, note, confidence)}`` from a same-library reference."""
    m = mapping(raw, ctx, ("primitive", "width", "energy_pJ", "area_um2"))
    if text(m["primitive"], ctx.at("primitive")) not in built:
        raise ctx.at("primitive").error(f"reference primitive {m['primitive']!r} is not defined")
    base = built[m["primitive"]]
    width = integer(m["width"], ctx.at("width"), minimum=1)
    out = {}
    for key, curve in (("energy_pJ", base.energy_pJ), ("area_um2", base.area_um2)):
        ref: Sourced = parse_sourced(m[key], ctx.at(key))
        hits = [a for a in curve.anchors if a.shape == Shape(width=width)]
        if not hits:
            raise ctx.at("width").error(f"{base.name} has no {key} anchor at width {width} to normalise by")
        factor = hits[0].value / ref.value
        note = (f"normalised x {factor:.4g} = base {base.name} {width}b {hits[0].value:g} / "
                f"same-library {ref.value:g} ({ref.source})")
        out[key] = (factor, note, ref.confidence)
    return out


_ANCHOR_KEYS = ("value", "source", "confidence")
_ANCHOR_OPT = ("width", "width2", "fmt", "capacity_bytes", "jouppi_class")


def _anchor(raw: Any, ctx: Ctx, model: WidthModel, norm) -> Anchor:
    m = mapping(raw, ctx, _ANCHOR_KEYS, _ANCHOR_OPT)
    shape = Shape(
        width=integer(m.get("width", 0), ctx.at("width")),
        width2=integer(m.get("width2", 0), ctx.at("width2")),
        fmt=text(m["fmt"], ctx.at("fmt")) if "fmt" in m else "",
        capacity_bytes=integer(m.get("capacity_bytes", 0), ctx.at("capacity_bytes")),
    )
    try:
        f = feature(model, shape)
    except SimlowError as err:
        raise ctx.error(f"anchor shape does not fit width model {model.value}: {err}") from None
    src = Sourced(number(m["value"], ctx.at("value"), positive=True), text(m["source"], ctx.at("source")),
                  parse_confidence(m["confidence"], ctx.at("confidence")))
    jc = _jouppi(m.get("jouppi_class", ""), ctx.at("jouppi_class"))
    if norm is None:
        return Anchor(shape, f, src, jouppi_class=jc)
    factor, note, conf = norm
    return Anchor(shape, f, src, factor, note, conf, jc)


def _curve(anchors: list[Anchor], ctx: Ctx) -> Curve:
    anchors = sorted(anchors, key=lambda a: a.feature)
    for lo, hi in zip(anchors, anchors[1:]):
        if lo.feature == hi.feature:
            raise ctx.error(f"two anchors with the same size ({lo.shape.describe()}, {hi.shape.describe()})")
        if hi.value < lo.value:
            raise ctx.error(f"cost falls with size between {lo.shape.describe()} and {hi.shape.describe()}")
    return Curve(tuple(anchors))


def _names(raw: Any, ctx: Ctx) -> dict:
    if not isinstance(raw, dict) or not raw:
        raise ctx.error("expected a non-empty mapping of primitive names")
    for key in raw:
        if not isinstance(key, str):
            raise ctx.error(f"primitive names must be strings, got {key!r}")
    return raw
