"""The package layering, enforced: no upward or cyclic import between simlow's packages,
and no JAX under the simulator, the cost model, the NPU designs, the workload graph or the
validation.

Every ``import`` and ``from ... import`` in simlow's source is read with ``ast`` (including
imports inside functions, which are still dependencies). A module's *package* is its first
component under ``simlow`` (``simlow.sim.des.step`` -> ``sim``; a top-level module such as
``simlow.formats`` is its own package).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "simlow"

# Lowest first. A package may import only packages of a strictly lower layer (or itself).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("quantities", "events", "numerics"),
    ("formats",),
    ("specs",),
    ("quant", "datapath", "memory", "workload"),
    ("cost",),
    ("sim",),
    ("serving",),      # below claims and validation, so a claim or a validation can use a serving metric
    ("npu",),
    ("validation", "claims", "lm"),
    ("sweep",),
    ("report",),
    ("bench",),
    ("cli",),
    ("__init__", "__main__"),
)
NO_JAX = ("sim", "serving", "cost", "npu", "workload", "validation", "memory", "specs", "formats", "quantities", "events")


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    mod = _module_name(path)
    pkg_parts = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                out.add(".".join(base + ([node.module] if node.module else [])))
            else:
                out.add(node.module)
                out.update(f"simlow.{a.name}" for a in node.names if node.module == "simlow"
                           and ((ROOT / a.name).is_dir() or (ROOT / f"{a.name}.py").is_file()))
    return out


def _edges() -> dict[tuple[str, str], list[str]]:
    """(from package, to package) -> the files that make that import."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        src = _package(_module_name(path))
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "jax" or top == "jaxlib":
                edges.setdefault((src, "JAX"), []).append(str(path.relative_to(ROOT.parent)))
            elif top == "simlow" and name != "simlow":
                dst = _package(name)
                if dst != src:
                    edges.setdefault((src, dst), []).append(str(path.relative_to(ROOT.parent)))
    return edges


def _layer_of() -> dict[str, int]:
    return {p: i for i, layer in enumerate(LAYERS) for p in layer}


def test_every_package_has_a_layer():
    layer = _layer_of()
    found = {_package(_module_name(p)) for p in ROOT.rglob("*.py")}
    assert found - set(layer) == set(), "add the new package to LAYERS in tests/core/test_layering.py"


def test_no_upward_or_sideways_import_between_packages():
    layer = _layer_of()
    bad = [f"{a} -> {b} ({', '.join(sorted(set(files)))})"
           for (a, b), files in sorted(_edges().items()) if b != "JAX" and layer[b] >= layer[a]]
    assert bad == []


@pytest.mark.parametrize("package", NO_JAX)
def test_no_jax_under_the_simulator_and_cost_model(package):
    files = _edges().get((package, "JAX"), [])
    assert files == [], f"{package} imports JAX in {files}"


def _module_graph():
    import networkx as nx

    mods = {_module_name(p): p for p in ROOT.rglob("*.py")}
    g = nx.DiGraph()
    for mod, path in mods.items():
        for name in _imports(path):
            parts = name.split(".")
            while parts and ".".join(parts) not in mods:
                parts.pop()
            target = ".".join(parts)
            # a module's own package (and a package's own submodules) are not dependencies of interest
            if parts and target != mod and not mod.startswith(target + ".") and not target.startswith(mod + "."):
                g.add_edge(mod, target)
    return g


def test_no_cyclic_import_between_modules():
    """No module imports (even lazily, inside a function) one that imports it back."""
    import networkx as nx

    cycles = sorted(sorted(c) for c in nx.strongly_connected_components(_module_graph()) if len(c) > 1)
    assert cycles == [], cycles


def test_the_checker_sees_real_imports():
    """The scanner is not vacuous: it finds known edges of the real tree."""
    edges = _edges()
    assert ("sim", "workload") in edges and ("cli", "sim") in edges and ("quant", "JAX") in edges
