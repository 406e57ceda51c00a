"""A memo for pure readers of files that can never serve a stale result.

``lru_cache`` over a path serves the first parse of a file for the life of the process,
even after the file is edited. ``FileMemo(reader)`` keys each path by a digest of the
file's bytes, so an edited or replaced file is parsed again (a stamp such as the
modification time is not enough: two writes inside one clock tick leave it unchanged), and
it keeps one entry per path (the newest), so memory stays bounded by the number of files.
Reading the bytes is cheap next to parsing and validating them. The reader must be a pure
function of the file's bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


def digest(path: Path) -> bytes:
    """A digest of the file's bytes (what changes when the file is edited)."""
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).digest()


class FileMemo(Generic[T]):
    """``memo(path)`` = ``reader(path)``, parsed again whenever the file's bytes change;
    ``memo()`` reads ``default`` (a shipped table) when one is given."""

    def __init__(self, reader: Callable[[Path], T], default: Path | None = None):
        self._reader = reader
        self._default = default
        self._entries: dict[Path, tuple[bytes, T]] = {}

    def __call__(self, path: Path | str | None = None) -> T:
        if path is None:
            if self._default is None:
                raise TypeError("this FileMemo has no default file: give a path")
            path = self._default
        path = Path(path)
        try:
            key = digest(path)
        except OSError:              # missing, a directory, unreadable: the reader says which
            return self._reader(path)
        hit = self._entries.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = self._reader(path)
        self._entries[path] = (key, value)
        return value
