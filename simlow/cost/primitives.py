"""The technology table: energy and area of each primitive at the base node (45 nm).

Loaded strictly from ``simlow/data/cost/primitives.yaml`` (see that file for the schema
and every number's source) into frozen objects. Scaling to other nodes is
``simlow.cost.scaling``; pricing events is ``simlow.cost.pricing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlow.cost.widthmodel import Anchor, Curve, Shape, WidthModel, feature
from simlow.specs.filememo import FileMemo
from simlow.errors import SimlowError, unknown_name
from simlow.specs.sourced import Sourced, read_confidence, read_sourced
from simlow.specs.yamlfile import Reader, check_version, load_yaml

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


def _read_primitives(path: Path) -> PrimitiveTable:
    """Read and validate a primitive table (errors name the file and the key path)."""
    r = Reader(load_yaml(path), str(path))
    check_version(r)
    base = r.int("base_node_nm", minimum=1)
    pr = r.sub("primitives")
    if not pr.data:
        pr.fail("expected a non-empty mapping of primitive names")
    for key in pr.data:
        if not isinstance(key, str):
            pr.fail(f"primitive names must be strings, got {key!r}")
    # primitives that normalise by another (library_ref) are built after those that do not
    order = sorted(pr.data, key=lambda n: isinstance(pr.data[n], dict) and "library_ref" in pr.data[n])
    built: dict[str, Primitive] = {}
    for name in order:
        built[name] = _primitive(name, pr.sub(name), built)
    pr.done()
    r.done()
    return PrimitiveTable(str(path), base, tuple(built[n] for n in pr.data))


# The table (default: the shipped file), memoized by the file's bytes: an edited file is read again.
load_primitives = FileMemo(_read_primitives, PRIMITIVES_FILE)


def _primitive(name: str, r: Reader, built: dict[str, Primitive]) -> Primitive:
    model = WidthModel(_one_of(r, "model", "width model", tuple(w.value for w in WidthModel)))
    jc = _one_of(r, "jouppi_class", "jouppi class", JOUPPI_CLASSES, default="")
    ref = _library_ref(r.sub("library_ref"), built) if r.has("library_ref") else None
    curves = []
    for key in ("energy_pJ", "area_um2"):
        norm = ref[key] if ref else None
        anchors = [_anchor(a, model, norm) for a in r.readers(key)]
        curves.append(_curve(anchors, r, key))
    r.done()
    return Primitive(name, model, curves[0], curves[1], jc)


def _one_of(r: Reader, key: str, what: str, valid: tuple[str, ...], default: str | None = None) -> str:
    value = r.str(key, default=default)
    if value != default and value not in valid:
        r.fail(f"unknown {what} {value!r} (valid: {', '.join(valid)})", key)
    return value


def _library_ref(r: Reader, built: dict[str, Primitive]) -> dict[str, tuple[float, str, Any]]:
    """Normalisation ``{energy_pJ|area_um2: (factor, note, confidence)}`` from a same-library reference."""
    name = r.str("primitive")
    if name not in built:
        r.fail(f"reference primitive {name!r} is not defined", "primitive")
    base = built[name]
    width = r.int("width", minimum=1)
    out = {}
    for key, curve in (("energy_pJ", base.energy_pJ), ("area_um2", base.area_um2)):
        ref: Sourced = read_sourced(r, key)
        hits = [a for a in curve.anchors if a.shape == Shape(width=width)]
        if not hits:
            r.fail(f"{base.name} has no {key} anchor at width {width} to normalise by", "width")
        factor = hits[0].value / ref.value
        note = (f"normalised x {factor:.4g} = base {base.name} {width}b {hits[0].value:g} / "
                f"same-library {ref.value:g} ({ref.source})")
        out[key] = (factor, note, ref.confidence)
    r.done()
    return out


def _anchor(r: Reader, model: WidthModel, norm) -> Anchor:
    shape = Shape(width=r.int("width", default=0, minimum=0), width2=r.int("width2", default=0, minimum=0),
                  fmt=r.str("fmt", default="", nonempty=True) if r.has("fmt") else "",
                  capacity_bytes=r.int("capacity_bytes", default=0, minimum=0))
    try:
        f = feature(model, shape)
    except SimlowError as err:
        r.fail(f"anchor shape does not fit width model {model.value}: {err}")
    src = Sourced(r.number("value", positive=True), r.str("source", nonempty=True), read_confidence(r))
    jc = _one_of(r, "jouppi_class", "jouppi class", JOUPPI_CLASSES, default="")
    r.done()
    if norm is None:
        return Anchor(shape, f, src, jouppi_class=jc)
    factor, note, conf = norm
    return Anchor(shape, f, src, factor, note, conf, jc)


def _curve(anchors: list[Anchor], r: Reader, key: str) -> Curve:
    anchors = sorted(anchors, key=lambda a: a.feature)
    for lo, hi in zip(anchors, anchors[1:]):
        if lo.feature == hi.feature:
            r.fail(f"two anchors with the same size ({lo.shape.describe()}, {hi.shape.describe()})", key)
        if hi.value < lo.value:
            r.fail(f"cost falls with size between {lo.shape.describe()} and {hi.shape.describe()}", key)
    return Curve(tuple(anchors))
