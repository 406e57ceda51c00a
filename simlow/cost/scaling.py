"""Technology-node scaling of the base (45 nm) table: area, energy and delay factors.

Two energy rules, chosen by the caller (``ScalingRule``), because the sources disagree by
3-6x at 7 nm (Jouppi et al. ISCA 2021 against Stillmaker & Baas 2017):

``STILLMAKER``
    Stillmaker & Baas (2017) fits, used the way Accelergy/hwcomponents use them: energy
    e(V) = e2 V^2 + e1 V + e0 per node (LP45/LP32 rows, HP rows at 20 nm and below),
    evaluated at the same Vdd (0.8 V) at both nodes; area from the published 45 nm row of
    the area matrix. Above 45 nm the paper's bulk 65 and 90 nm rows extend the range to
    90 nm (130 and 180 nm are not shipped: see scaling.yaml). Nodes between table rows (28, 22, 12 nm) are interpolated linearly in
    the node number. Below 7 nm, hwcomponents' rules: area linear in the node number,
    energy with sqrt(node ratio). 45 -> 7 nm energy: x0.094 (10.6x less).
``JOUPPI7``
    The TPUv4i (Jouppi et al. 2021) re-measurement of the Horowitz table: a per-operation
    45 -> 7 nm energy ratio (0.23 for an INT8 add ... 0.42 for an FP32 add, 2.4-4.3x less).
    Between 45 and 7 nm the ratio is interpolated as a power law in the node number
    (r ** (ln(45/n) / ln(45/7)), an assumption: the source gives the two end points only);
    below 7 nm the hwcomponents sqrt rule continues from the 7 nm value; above 45 nm (no TPUv4i
    figure) the Stillmaker ratio to 45 nm is used. Primitives with no
    TPUv4i row (SRAM) fall back to ``STILLMAKER``; the pricing basis says so. Area and
    delay have no TPUv4i figures and follow the Stillmaker model under both rules.

Delay: the HP rows of the Stillmaker delay fit, each at its node's nominal supply (90 nm
1.2 V ... 45 nm 1.0 V ... 7 nm 0.7 V, scaling.yaml; not the energy fits' shared 0.8 V) down
to 7 nm, then linear in the node number below 7 nm (hwcomponents ``tech_node_latency``); an FO4 delay at 45 nm
(assumed, see scaling.yaml) turns factors into picoseconds.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from pathlib import Path

from simlow.cost.primitives import DATA_DIR, JOUPPI_CLASSES
from simlow.specs.filememo import FileMemo
from simlow.errors import SimlowError, unknown_name
from simlow.specs.sourced import Sourced, read_confidence, read_sourced
from simlow.specs.yamlfile import Reader, check_version, load_yaml

SCALING_FILE = DATA_DIR / "scaling.yaml"
BASE_NODE_NM = 45
NODES_NM = (45, 28, 16, 7, 5, 4, 3)  # the nodes tables are shown at
MIN_NODE_NM = 3
MAX_NODE_NM = 90   # the oldest Stillmaker row shipped (see scaling.yaml on why not 130/180 nm)


class ScalingRule(enum.Enum):
    STILLMAKER = "stillmaker"
    JOUPPI7 = "jouppi7"


def scaling_rule(name: str) -> ScalingRule:
    """The rule called ``name`` (an edge helper for the CLI and YAML)."""
    for r in ScalingRule:
        if r.value == name.lower():
            return r
    raise unknown_name("scaling rule", name, [r.value for r in ScalingRule])


def parse_node(text_: str | int) -> int:
    """``"28nm"``, ``"28 nm"``, ``"28"`` or ``28`` -> 28, checked to lie in [3, 90] nm."""
    raw = str(text_).strip().lower().removesuffix("nm").strip()
    if not raw.isdigit():
        raise SimlowError(f"bad technology node {text_!r} (expected e.g. '28nm'; valid {MIN_NODE_NM}-{MAX_NODE_NM} nm)")
    return check_node(int(raw))


def check_node(node_nm: int) -> int:
    if not MIN_NODE_NM <= node_nm <= MAX_NODE_NM:
        raise SimlowError(f"technology node {node_nm} nm out of range (valid: {MIN_NODE_NM}-{MAX_NODE_NM} nm)")
    return node_nm


@dataclass(frozen=True)
class ScalingData:
    file: str
    stillmaker_source: str
    below7_source: str
    jouppi_source: str
    vdd: Sourced
    area_from_45: tuple[tuple[int, float], ...]               # (node, factor), descending node
    energy_fit: tuple[tuple[int, tuple[float, ...]], ...]    # (node, (e2, e1, e0))
    delay_fit: tuple[tuple[int, tuple[float, ...]], ...]     # (node, (a, b, c, d, nominal Vdd))
    jouppi: tuple[tuple[str, float, float], ...]             # (class, e45, e7)
    fo4_45: Sourced


def _read_scaling(path: Path) -> ScalingData:
    r = Reader(load_yaml(path), str(path))
    check_version(r)
    s = r.sub("stillmaker")
    read_confidence(s)
    area = tuple((n, v.number(n, positive=True)) for n, v in _rows(s.sub("area_from_45")))
    energy = tuple((n, _coeffs(v.sub(n), ("e2", "e1", "e0"))) for n, v in _rows(s.sub("energy")))
    delay = tuple((n, _coeffs(v.sub(n), ("a", "b", "c", "d", "vdd_V"))) for n, v in _rows(s.sub("delay")))
    b7 = r.sub("below_7nm")
    read_confidence(b7)
    j = r.sub("jouppi7")
    read_confidence(j)
    classes = j.sub("classes")
    jrows = []
    for name in list(classes.data):
        if name not in JOUPPI_CLASSES:
            classes.fail(f"unknown key (valid: {', '.join(JOUPPI_CLASSES)})", name)
        m = classes.sub(name)
        jrows.append((name, m.number("e45_pJ", positive=True), m.number("e7_pJ", positive=True)))
        m.done()
    fo4 = r.sub("fo4")
    data = ScalingData(str(path), s.str("source", nonempty=True), b7.str("source", nonempty=True),
                       j.str("source", nonempty=True), read_sourced(s, "vdd_V"), area, energy, delay,
                       tuple(jrows), read_sourced(fo4, "ps_at_45nm"))
    for sub in (s, b7, classes, j, fo4, r):
        sub.done()
    return data


# The table (default: the shipped file), memoized by the file's bytes: an edited file is read again.
load_scaling = FileMemo(_read_scaling, SCALING_FILE)


def _rows(r: Reader) -> list[tuple[int, Reader]]:
    """(node, the reader holding it) for each row of a node table, descending node."""
    if not {MAX_NODE_NM, BASE_NODE_NM, 7} <= set(r.data):
        r.fail(f"expected a mapping from node (nm) to values, including {MAX_NODE_NM}, {BASE_NODE_NM} and 7")
    for k in r.data:
        if isinstance(k, bool) or not isinstance(k, int):
            r.fail(f"node keys must be integers (nm), got {k!r}")
    return [(n, r) for n in sorted(r.data, reverse=True)]


def _coeffs(r: Reader, names: tuple[str, ...]) -> tuple[float, ...]:
    r.str("row", nonempty=True)
    out = tuple(r.number(n) for n in names)
    r.done()
    return out


def _interp(rows, node_nm: int, fn) -> float:
    """fn(row value) at ``node_nm``, linear in the node number between table rows (7-90 nm)."""
    for (n_hi, v_hi), (n_lo, v_lo) in zip(rows, rows[1:]):
        if n_lo <= node_nm <= n_hi:
            t = (n_hi - node_nm) / (n_hi - n_lo)
            return (1 - t) * fn(v_hi) + t * fn(v_lo)
    raise AssertionError(node_nm)  # pragma: no cover - check_node bounds it


def area_factor(node_nm: int, data: ScalingData | None = None) -> float:
    """Area at ``node_nm`` / area at 45 nm (logic; SRAM macros below 5 nm scale less)."""
    d = data or load_scaling()
    check_node(node_nm)
    if node_nm >= 7:
        return _interp(d.area_from_45, node_nm, lambda v: v)
    return _interp(d.area_from_45, 7, lambda v: v) * node_nm / 7


def _energy_fit(d: ScalingData, node_nm: int) -> float:
    v = d.vdd.value
    return _interp(d.energy_fit, node_nm, lambda c: c[0] * v * v + c[1] * v + c[2])


def stillmaker_energy_factor(node_nm: int, data: ScalingData | None = None) -> float:
    d = data or load_scaling()
    check_node(node_nm)
    base = _energy_fit(d, BASE_NODE_NM)
    if node_nm >= 7:
        return _energy_fit(d, node_nm) / base
    return _energy_fit(d, 7) / base * math.sqrt(node_nm / 7)


def jouppi_energy_factor(node_nm: int, jouppi_class: str, data: ScalingData | None = None) -> float:
    d = data or load_scaling()
    check_node(node_nm)
    rows = {name: e7 / e45 for name, e45, e7 in d.jouppi}
    if jouppi_class not in rows:
        raise unknown_name("TPUv4i energy row", jouppi_class, sorted(rows))
    r = rows[jouppi_class]
    if node_nm > BASE_NODE_NM:   # no TPUv4i figure above 45 nm: the Stillmaker ratio to 45 nm
        return stillmaker_energy_factor(node_nm, d)
    if node_nm >= 7:
        return r ** (math.log(BASE_NODE_NM / node_nm) / math.log(BASE_NODE_NM / 7))
    return r * math.sqrt(node_nm / 7)


def energy_factor(node_nm: int, rule: ScalingRule, jouppi_class: str = "",
                  data: ScalingData | None = None) -> tuple[float, ScalingRule]:
    """(energy at node / energy at 45 nm, the rule actually applied).

    Under ``JOUPPI7`` a primitive without a TPUv4i row (empty ``jouppi_class``) falls back to
    ``STILLMAKER``; the returned rule says which one was used.
    """
    if rule is ScalingRule.JOUPPI7 and jouppi_class:
        return jouppi_energy_factor(node_nm, jouppi_class, data), ScalingRule.JOUPPI7
    return stillmaker_energy_factor(node_nm, data), ScalingRule.STILLMAKER


def delay_factor(node_nm: int, data: ScalingData | None = None) -> float:
    """Gate delay at ``node_nm`` / gate delay at 45 nm, each node at its nominal supply."""
    d = data or load_scaling()
    check_node(node_nm)
    fit = lambda c: ((c[0] * c[4] + c[1]) * c[4] + c[2]) * c[4] + c[3]  # noqa: E731
    base = _interp(d.delay_fit, BASE_NODE_NM, fit)
    if node_nm >= 7:
        return _interp(d.delay_fit, node_nm, fit) / base
    return _interp(d.delay_fit, 7, fit) / base * node_nm / 7


def fo4_ps(node_nm: int, data: ScalingData | None = None, vdd_V: float | None = None) -> float:
    """FO4 inverter delay at ``node_nm`` in picoseconds (assumed 45 nm value x delay factor), at the
    node's nominal supply or, given ``vdd_V``, at that supply (``vdd_delay_ratio``)."""
    d = data or load_scaling()
    ratio = 1.0 if vdd_V is None else vdd_delay_ratio(node_nm, vdd_V, d)
    return d.fo4_45.value * delay_factor(node_nm, d) * ratio


VDD_GRID = 16   # points at which the delay fit is checked to fall monotonically between two supplies


def vdd_delay_ratio(node_nm: int, vdd_V: float, data: ScalingData | None = None) -> float:
    """Gate delay at supply ``vdd_V`` / gate delay at the node's nominal supply: the Stillmaker &
    Baas delay fit d(V) of the node's row (between rows, each row's d(V) interpolated in the node
    number like ``delay_factor``). Only 7-90 nm (the fit's rows), and only where the fit falls
    monotonically with V between the nominal supply and ``vdd_V`` (some rows turn over a few tenths
    of a volt from nominal, where the cubic no longer describes a transistor)."""
    d = data or load_scaling()
    check_node(node_nm)
    if not 7 <= node_nm <= MAX_NODE_NM:
        raise SimlowError(f"a design supply voltage needs a Stillmaker delay row: {node_nm} nm is outside 7-{MAX_NODE_NM} nm")
    if not (isinstance(vdd_V, (int, float)) and 0 < vdd_V < 2):
        raise SimlowError(f"design supply vdd_V must be a voltage in (0, 2) V, got {vdd_V!r}")
    at = lambda v: _interp(d.delay_fit, node_nm, lambda c: ((c[0] * v + c[1]) * v + c[2]) * v + c[3])  # noqa: E731
    nominal = _interp(d.delay_fit, node_nm, lambda c: c[4])
    lo, hi = sorted((nominal, vdd_V))
    grid = [at(lo + (hi - lo) * i / VDD_GRID) for i in range(VDD_GRID + 1)]
    if any(b >= a for a, b in zip(grid, grid[1:])) and hi > lo:
        raise SimlowError(f"the Stillmaker delay fit at {node_nm} nm does not fall with the supply between "
                          f"{lo:.3g} and {hi:.3g} V, so {vdd_V:g} V is outside what it describes (nominal {nominal:.3g} V)")
    return at(vdd_V) / at(nominal)
