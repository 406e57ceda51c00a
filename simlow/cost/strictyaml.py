"""Strict YAML reading for the cost tables: duplicate keys, unknown keys, missing keys and
wrong types are errors that name the file and the key path (``file: a.b[2].c: ...``).

The readers return plain Python values only to the table loaders in this package, which
turn them into frozen objects at once; nothing past the loaders sees a raw dict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simlow.errors import SimlowError
from simlow.specs.yamlfile import as_whole, check_number, load_yaml


def read_yaml(path: Path) -> Any:
    """Parse ``path`` with duplicate keys rejected (``simlow.specs.yamlfile.load_yaml``)."""
    return load_yaml(path)


class Ctx:
    """Where a value sits: the file and the key path, for error messages."""

    def __init__(self, file: str, path: str = "") -> None:
        self.file = file
        self.path = path

    def at(self, key: str | int) -> "Ctx":
        if isinstance(key, int):
            return Ctx(self.file, f"{self.path}[{key}]")
        return Ctx(self.file, f"{self.path}.{key}" if self.path else str(key))

    def error(self, msg: str) -> SimlowError:
        where = self.path or "<top>"
        return SimlowError(f"{self.file}: {where}: {msg}")


def mapping(value: Any, ctx: Ctx, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    """Check ``value`` is a mapping with all ``required`` keys and no key outside both lists."""
    if not isinstance(value, dict):
        raise ctx.error(f"expected a mapping, got {type(value).__name__}")
    for key in value:
        if key not in required and key not in optional:
            valid = ", ".join(required + optional)
            raise ctx.at(str(key)).error(f"unknown key (valid: {valid})")
    for key in required:
        if key not in value:
            raise ctx.at(key).error("missing required key")
    return value


def number(value: Any, ctx: Ctx, positive: bool = False) -> float:
    """A real number (bool refused); ``positive`` demands > 0."""
    def fail(message: str) -> None:
        raise ctx.error(message)

    check_number(value, fail)
    if positive and not value > 0:
        raise ctx.error(f"expected a number > 0, got {value!r}")
    return float(value)


def integer(value: Any, ctx: Ctx, minimum: int = 0) -> int:
    value = as_whole(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.error(f"expected an integer, got {value!r}")
    if value < minimum:
        raise ctx.error(f"expected an integer >= {minimum}, got {value}")
    return value


def text(value: Any, ctx: Ctx) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(f"expected a non-empty string, got {value!r}")
    return value


def sequence(value: Any, ctx: Ctx) -> list:
    if not isinstance(value, list):
        raise ctx.error(f"expected a list, got {type(value).__name__}")
    return value
