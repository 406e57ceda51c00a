"""A memo for pure readers of files that can never serve a stale result.

``lru_cache`` over a path serves the first parse of a file for the life of the process,
even after the file is edited. ``FileMemo(reader)`` keys each path by the file's stamp
(inode, size, modification time in ns), so an edited or replaced file is read again, and
it keeps one entry per path (the newest), so memory stays bounded by the number of files.
The reader must be a pure function of the file's bytes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


def stamp(path: Path) -> tuple[int, int, int]:
    """What changes when the file at ``path`` is edited or replaced."""
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


class FileMemo(Generic[T]):
    """``memo(path)`` = ``reader(path)``, read again whenever the file's stamp changes."""

    def __init__(self, reader: Callable[[Path], T]):
        self._reader = reader
        self._entries: dict[Path, tuple[tuple[int, int, int], T]] = {}

    def __call__(self, path: Path) -> T:
        key = stamp(path)
        hit = self._entries.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = self._reader(path)
        self._entries[path] = (key, value)
        return value
