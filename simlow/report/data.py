"""Serialized results in, plain data out: what every report figure starts from.

A figure never sees a live simlow object, only the JSON-able data its ``to_dict()`` gives,
so a result saved to disk re-renders to the same picture. ``as_data`` accepts any of:

- an object with ``to_dict()`` (``FitResult``, ``Prediction``, a verdict...),
- a dict or a list (already serialized; lists may hold objects with ``to_dict()``),
- a path to a ``.json`` file (one document) or a ``.jsonl`` file (one row per line).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

from simlow.errors import SimlowError


def as_data(obj: Any) -> Any:
    """Plain JSON-like data for ``obj`` (see the module docstring)."""
    if isinstance(obj, (str, Path)):
        return read_json_file(Path(obj))
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (list, tuple)):
        return [as_data(x) if hasattr(x, "to_dict") else x for x in obj]
    raise SimlowError(f"cannot report a {type(obj).__name__}: give a result, a dict, a list or a .json/.jsonl path")


def read_json_file(path: Path) -> Any:
    """A ``.json`` document or the rows of a ``.jsonl`` file (blank lines skipped)."""
    try:
        text = path.read_text()
    except OSError as err:
        raise SimlowError(f"{path}: cannot read ({err.strerror})") from None
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SimlowError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from None


def require(d: Any, keys: Iterable[str], what: str) -> Mapping:
    """``d`` as a mapping holding every key in ``keys``, else a SimlowError naming the gap."""
    if not isinstance(d, Mapping):
        raise SimlowError(f"{what}: expected a mapping, got {type(d).__name__}")
    missing = [k for k in keys if k not in d]
    if missing:
        raise SimlowError(f"{what}: missing {', '.join(missing)} (has: {', '.join(sorted(map(str, d))) or 'nothing'})")
    return d


def rows_of(d: Any, what: str) -> list[Mapping]:
    """``d`` as a non-empty list of mappings."""
    if not isinstance(d, list) or not d:
        raise SimlowError(f"{what}: expected a non-empty list of rows")
    for i, row in enumerate(d):
        if not isinstance(row, Mapping):
            raise SimlowError(f"{what}: row {i} is a {type(row).__name__}, not a mapping")
    return d


def finite(x: Any) -> bool:
    """A real number that is neither NaN nor infinite (bools are not numbers here)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
