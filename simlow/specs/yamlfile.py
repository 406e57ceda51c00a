"""Strict YAML reading: duplicate keys are errors, and every value keeps its key path.

``load_yaml(path)`` returns plain data with the guarantee that no mapping had a duplicate
key (PyYAML silently keeps the last one). ``Reader`` walks that data for a spec loader:
each access names the key it wants and the type or unit it expects; any problem becomes a
``SimlowError`` naming the file and the key path (``hwspecs/m4-max.yaml: memory.dram.
bandwidth: ...``). ``Reader.done()`` refuses keys that nobody asked for, so a typo in a
key is an error instead of a silently ignored setting.

Hostile files are refused before they cost time or memory: a file over ``MAX_BYTES``, text
that is not UTF-8, nesting deeper than ``MAX_DEPTH`` (checked while composing, so no
recursion limit is reached), and any anchor or alias (``&a`` / ``*a``: no shipped file
uses them, and aliases are how a small file expands into gigabytes). Numbers are read as a
person writes them: YAML 1.1 takes ``1.5e2`` and ``1e3`` for text, this reader for floats
(``1_000`` is an integer in both). ``Reader.number`` refuses ``.nan`` and ``.inf``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import yaml

from simlow.errors import SimlowError
from simlow.quantities import Dim, parse

T = TypeVar("T")

# Bounds that keep a hostile file to about a second of pure-Python parsing (~50 us a node).
MAX_BYTES = 256 * 1024   # the largest shipped YAML (workloads/claims/seeds.yaml) is 37 kB
MAX_NODES = 10_000       # ... and has 1,826 nodes (keys, values, list items)
MAX_DEPTH = 32           # the deepest shipped YAML nests 7 levels


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader whose mappings refuse duplicate keys, with no anchors or aliases and a
    bounded nesting depth and node count."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not supported; write the value out",
                event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"more than {MAX_NODES} values, too many for a spec file", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Duplicate(yaml.constructor.ConstructorError):
    """A key given twice in one mapping (reported without the "invalid YAML" prefix)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict = {}
    first: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in out
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be text or a number, got {_kind(key)}", key_node.start_mark) from None
        if duplicate:
            raise _Duplicate(None, None, f"duplicate key {key!r} (first at line {first[key]})",
                             key_node.start_mark)
        first[key] = key_node.start_mark.line + 1
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# YAML 1.1 floats need a dot and a signed exponent; also take 1e3, 1.5e2, 2.5E-3, .5e1.
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def load_yaml(path: Path | str) -> Any:
    """Parse a YAML file strictly; a syntax error or duplicate key names the file."""
    path = Path(path)
    if path.is_dir():
        raise SimlowError(f"{path}: is a directory, not a YAML file")
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as err:
        raise SimlowError(f"{path}: cannot read ({err.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise SimlowError(f"{path}: larger than {MAX_BYTES // 1024} KiB, too large for a spec file")
    return loads_yaml(decode(raw, str(path)), str(path))


def decode(raw: bytes, origin: str) -> str:
    """``raw`` as UTF-8 text, or an error saying where it is not."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SimlowError(f"{origin}: is UTF-16 text (byte-order mark); save it as UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SimlowError(f"{origin}: is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset "
                          f"{err.start}); save it as UTF-8") from None


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


def check_version(r: "Reader", key: str = "version", version: int = 1) -> None:
    """Refuse a table whose ``key`` (its schema version) is not ``version``."""
    found = r.int(key)
    if found != version:
        r.fail(f"unsupported schema version {found!r} (valid: {version})", key)


def loads_yaml(text: str, origin: str) -> Any:
    """Parse YAML text strictly (see the module doc); ``origin`` names it in errors."""
    if len(text) > MAX_BYTES:
        raise SimlowError(f"{origin}: larger than {MAX_BYTES // 1024} KiB, too large for a spec file")
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.reader.ReaderError as err:
        char = err.character if isinstance(err.character, int) else ord(err.character)
        raise SimlowError(f"{origin}: character #x{char:04x} at position {err.position} "
                          f"is not allowed in YAML") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        what = "" if isinstance(err, _Duplicate) else " invalid YAML:"
        problem = getattr(err, "problem", None) or str(err)
        raise SimlowError(f"{origin}:{where}{what} {problem}") from None
    except ValueError as err:  # int("1" * 5000) beyond Python's digit limit, date 2024-13-45
        raise SimlowError(f"{origin}: invalid YAML: {str(err).split(';')[0]}") from None
    except RecursionError:  # a bound above should make this unreachable; never a traceback
        raise SimlowError(f"{origin}: nested too deeply") from None


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
    def where(self, key: Any = None) -> str:
        path = ".".join(str(p) for p in (self.path, key) if p is not None and p != "")
        return f"{self.origin}: {path}" if path else self.origin

    def fail(self, message: str, key: Any = None) -> SimlowError:
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
        if required and self.data[key] is None:
            self.fail("needs a value, got nothing", key)
        return self.data[key]

    def str(self, key: str, default: str | None = None, choices: tuple[str, ...] = (),
            nonempty: bool = False) -> str:
        value = self._get(key, default is None)
        if value is None:
            return default  # type: ignore[return-value]
        if not isinstance(value, str):
            self.fail(f"expected text, got {_kind(value)}", key)
        if nonempty and not value.strip():
            self.fail("expected non-empty text", key)
        if choices and value not in choices:
            self.fail(f"{value!r} is not one of {', '.join(choices)}", key)
        return value

    def int(self, key: str, default: int | None = None, minimum: int | None = None,
            maximum: int | None = None) -> int:
        """A whole number (``32``, ``1_000``, or a float with no fraction such as ``1e3``)."""
        value = self._get(key, default is None)
        if value is None:
            return default  # type: ignore[return-value]
        value = as_whole(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"expected a whole number, got {_kind(value)}", key)
        if minimum is not None and value < minimum:
            self.fail(f"{value} is below the minimum {minimum}", key)
        if maximum is not None and value > maximum:
            self.fail(f"{value} is above the maximum {maximum}", key)
        return value

    def number(self, key: str, default: float | None = None, lo: float | None = None,
               hi: float | None = None, positive: bool = False) -> float:
        """A finite real number (``.nan`` and ``.inf`` are refused); ``positive``: > 0."""
        value = self._get(key, default is None)
        if value is None:
            return default  # type: ignore[return-value]
        check_number(value, lambda m: self.fail(m, key), lo, hi)
        if positive and not value > 0:
            self.fail(f"expected a number > 0, got {value!r}", key)
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
        return f"{self.path}.{key}" if self.path else str(key)


def as_whole(value: Any) -> Any:
    """``value`` as an int if it is a float with no fraction (``1e3`` -> 1000), else as is."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def check_number(value: Any, fail: Callable[[str], Any], lo: float | None = None,
                 hi: float | None = None) -> None:
    """Call ``fail(message)`` unless ``value`` is a finite number within ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"expected a number, got {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        fail(f"expected a finite number, got {value}")
    if isinstance(value, int) and abs(value) > 1e300:
        fail("expected a number, got an integer too large for a float")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        fail(f"{value} is outside [{lo}, {hi}]")


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    shown = repr(value) if isinstance(value, (str, int, float)) else ""
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return {dict: "a mapping", list: "a list", str: f"text {shown}", bool: f"{value}"}.get(
        type(value), f"{type(value).__name__} {shown}".rstrip())
