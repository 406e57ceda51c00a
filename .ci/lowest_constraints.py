"""Print a pip constraints file that pins every dependency to its lower bound.

Reads pyproject.toml (the project's dependencies and every optional extra) and
turns each ``name>=X`` into ``name==X``, so CI can run the suite on the oldest
versions the ranges allow.  jaxlib is not a direct dependency, but jax pins it
within a range; it is held to jax's lower bound so that the pair is the oldest
one jax itself supports.  A dependency without a ``>=`` lower bound is an error:
the range would have no oldest version to test.

Usage: python .ci/lowest_constraints.py [pyproject.toml] > constraints.txt
"""

import re
import sys
import tomllib
from pathlib import Path

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*?)\s*(?:;.*)?$")
_LOWER = re.compile(r">=\s*([0-9][A-Za-z0-9.+!-]*)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lower_bounds(pyproject: Path) -> dict[str, str]:
    """Map each requirement's normalised name to its lower bound."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    bounds: dict[str, str] = {}
    for requirement in requirements:
        match = _REQ.match(requirement)
        lower = _LOWER.search(match.group(2)) if match else None
        if lower is None:
            raise SystemExit(
                f"{pyproject}: requirement {requirement!r} has no '>=' lower bound; "
                "give every dependency one (e.g. 'numpy>=1.26')"
            )
        name = _normalise(match.group(1))
        if bounds.get(name, lower.group(1)) != lower.group(1):
            raise SystemExit(
                f"{pyproject}: {name} has two lower bounds, {bounds[name]} and "
                f"{lower.group(1)}; use one"
            )
        bounds[name] = lower.group(1)
    return bounds


def constraints(pyproject: Path) -> str:
    bounds = lower_bounds(pyproject)
    lines = [f"# generated from {pyproject.name} by .ci/lowest_constraints.py"]
    lines += [f"{name}=={version}" for name, version in sorted(bounds.items())]
    if "jax" in bounds:
        lines.append(f"jaxlib=={bounds['jax']}  # jax's own lowest partner")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
    sys.stdout.write(constraints(path))
