"""User-facing errors.

Every error a user can cause by what they type or write in a file is a ``SimlowError``:
one line naming what was wrong and what is valid. The CLI prints it and exits with code 2;
the library raises it. Anything else escaping the library is a bug in simlow.
"""

from __future__ import annotations

import difflib


class SimlowError(ValueError):
    """Bad input: a malformed spec, an unknown name, an impossible setting."""


def unknown_name(kind: str, name: str, valid: list[str] | tuple[str, ...]) -> SimlowError:
    """An error for an unknown ``kind`` name that suggests the closest valid names."""
    close = difflib.get_close_matches(name, list(valid), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    shown = ", ".join(sorted(valid))
    return SimlowError(f"unknown {kind} {name!r}{hint} (valid: {shown})")
