"""The lowest-versions constraints that .ci/run generates from pyproject.toml."""

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("lowest_constraints", ROOT / ".ci" / "lowest_constraints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_requirement_is_pinned_to_its_lower_bound():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    lines = _script().constraints(ROOT / "pyproject.toml").splitlines()
    pins = dict(line.split("  #")[0].split("==") for line in lines if not line.startswith("#"))
    for requirement in requirements:
        name, lower = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement).groups()
        assert pins[re.sub(r"[-_.]+", "-", name).lower()] == lower
    assert pins["jaxlib"] == pins["jax"]


def test_a_requirement_without_lower_bound_is_refused(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["numpy>=2.0", "rich"]\n')
    with pytest.raises(SystemExit, match=r"pyproject.toml: requirement 'rich' has no '>=' lower bound"):
        _script().constraints(pyproject)


def test_two_lower_bounds_for_one_package_are_refused(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["ray>=2.30"]\n'
                         '[project.optional-dependencies]\nray = ["ray>=2.40"]\n')
    with pytest.raises(SystemExit, match="ray has two lower bounds, 2.30 and 2.40"):
        _script().constraints(pyproject)


def test_readme_has_the_two_commands_ci_runs():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert any(line.startswith("pip install -e . && simlow fit ") for line in lines)
    assert any(line.startswith('pip install -e ".[dev]" && ') and "pytest" in line for line in lines)
