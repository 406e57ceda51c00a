"""Strict YAML reading: duplicate keys are errors, and every value keeps its key path.

``load_yaml(path)`` returns plain data with the guarantee that no mapping had a duplicate
key (PyYAML silently keeps the last one). ``Reader`` walks that data for a spec loader:
each access names the key it wants and the type or unit it expects; any problem becomes a
``SimlowError`` naming the file and the key path (``hwspecs/m4-max.yaml: memory.dram.
bandwidth: ...``). ``Reader.done()`` refuses keys that nobody asked for, so a typo in a
key is an error instead of a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import yaml

from simlow.errors import SimlowError
from simlow.quantities import Dim, parse

T = TypeVar("T")


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader whose mappings refuse duplicate keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r} (line {line})",
                                                    key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path | str) -> Any:
    """Parse a YAML file strictly; a syntax error or duplicate key names the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SimlowError(f"{path}: cannot read ({err.strerror})") from None
    return loads_yaml(text, str(path))


def open_spec(path: Path | str, version: int) -> tuple["Reader", str]:
    """A spec file's top-level Reader and its name, after the checks every spec shares:
    ``schema_version`` equals ``version`` and ``name`` equals the file stem."""
    path = Path(path)
    r = Reader(load_yaml(path), str(path))
    found = r.int("schema_version")
    if found != version:
        r.fail(f"schema_version {found} is not supported (this simlow reads {version})", "schema_version")
    name = r.str("name")
    if name != path.stem:
        r.fail(f"name {name!r} must equal the file name stem {path.stem!r}", "name")
    return r, name


def loads_yaml(text: str, origin: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise SimlowError(f"{origin}:{where} invalid YAML: {problem}") from None


class Reader:
    """A view of one YAML mapping at a key path, for strict, typed access."""

    def __init__(self, data: Any, origin: str, path: str = "") -> None:
        self.origin = origin
        self.path = path
        if not isinstance(data, dict):
            self.fail(f"expected a mapping, got {_kind(data)}")
        self.data: dict = data
        self._used: set = set()

    # -- errors ---------------------------------------------------------------------------
    def where(self, key: str | None = None) -> str:
        path = ".".join(p for p in (self.path, key) if p)
        return f"{self.origin}: {path}" if path else self.origin

    def fail(self, message: str, key: str | None = None) -> SimlowError:
        raise SimlowError(f"{self.where(key)}: {message}")

    # -- access ---------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        """Whether ``key`` is present (it then counts as a known key for ``done``)."""
        self._used.add(key)
        return key in self.data

    def _get(self, key: str, required: bool) -> Any:
        self._used.add(key)
        if key not in self.data:
            if required:
                self.fail("missing required key", key)
            return None
        return self.data[key]

    def str(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        value = self._get(key, default is None)
        if value is None:
            return default  # type: ignore[return-value]
        if not isinstance(value, str):
            self.fail(f"expected text, got {_kind(value)}", key)
        if choices and value not in choices:
            self.fail(f"{value!r} is not one of {', '.join(choices)}", key)
        return value

    def int(self, key: str, default: int | None = None, minimum: int | None = None) -> int:
        value = self._get(key, default is None)
        if value is None:
            return default  # type: ignore[return-value]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"expected a whole number, got {_kind(value)}", key)
        if minimum is not None and value < minimum:
            self.fail(f"{value} is below the minimum {minimum}", key)
        return value

    def number(self, key: str, default: float | None = None, lo: float | None = None,
               hi: float | None = None) -> float:
        value = self._get(key, default is None)
        if value is None:
            return default  # type: ignore[return-value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"expected a number, got {_kind(value)}", key)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(f"{value} is outside [{lo}, {hi}]", key)
        return float(value)

    def bool(self, key: str, default: bool | None = None) -> bool:
        value = self._get(key, default is None)
        if value is None:
            return default  # type: ignore[return-value]
        if not isinstance(value, bool):
            self.fail(f"expected true or false, got {_kind(value)}", key)
        return value

    def quantity(self, key: str, dim: Dim, default: float | None = None) -> float:
        """A quantity with a unit (``"819 GB/s"``), in SI base units."""
        value = self._get(key, default is None)
        if value is None:
            return default  # type: ignore[return-value]
        try:
            return parse(value, dim)
        except SimlowError as err:
            raise SimlowError(f"{self.where(key)}: {err}") from None

    def sub(self, key: str, required: bool = True) -> "Reader | None":
        value = self._get(key, required)
        if value is None:
            return None
        return Reader(value, self.origin, self._child(key))

    def list(self, key: str, required: bool = True) -> list:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"expected a list, got {_kind(value)}", key)
        return value

    def str_list(self, key: str, required: bool = True) -> tuple[str, ...]:
        items = self.list(key, required)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(f"item {i}: expected text, got {_kind(item)}", key)
        return tuple(items)

    def readers(self, key: str, required: bool = True) -> Iterator["Reader"]:
        """Each item of a list of mappings, as a Reader at ``key[i]``."""
        for i, item in enumerate(self.list(key, required)):
            yield Reader(item, self.origin, f"{self._child(key)}[{i}]")

    def map(self, key: str, convert: Callable[["Reader", str], T], required: bool = True) -> dict[str, T]:
        """A mapping of free-form keys; ``convert(reader, key)`` reads each value."""
        sub = self.sub(key, required)
        if sub is None:
            return {}
        return {k: convert(sub, k) for k in list(sub.data)}

    def keys(self) -> list[str]:
        return [str(k) for k in self.data]

    def done(self) -> None:
        """Refuse keys that were never read."""
        extra = [k for k in self.data if k not in self._used]
        if extra:
            known = ", ".join(sorted(str(k) for k in self._used)) or "none"
            raise SimlowError(f"{self.where(str(extra[0]))}: unknown key (valid here: {known})")

    def _child(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: f"text {value!r}", bool: f"{value}"}.get(
        type(value), f"{type(value).__name__} {value!r}")
