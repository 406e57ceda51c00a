"""Numbers for people: rates with decimal SI prefixes, as vendors and the press write them
(``1.41 TB/s``, ``312 Top/s``); memory sizes in bytes with binary prefixes (``26.1 GiB``,
2^30 bytes), as the rest of simlow's output shows them."""

from __future__ import annotations

_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_BINARY = ((2.0**40, "Ti"), (2.0**30, "Gi"), (2.0**20, "Mi"), (2.0**10, "Ki"))


def si(value: float, unit: str, digits: int = 3) -> str:
    """``si(1.41e12, "B/s") == "1.41 TB/s"``, ``si(2**31, "B") == "2 GiB"``; three significant
    digits by default."""
    if value == float("inf"):
        return f"unbounded {unit}".strip()
    for factor, prefix in _BINARY if unit == "B" else _PREFIXES:
        if abs(value) >= factor:
            return f"{_sig(value / factor, digits)} {prefix}{unit}"
    return f"{_sig(value, digits)} {unit}".strip()


def _sig(x: float, digits: int) -> str:
    return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"


def metric_value(value: float | bool, unit: str) -> str:
    """A claimed or computed value in its metric's unit."""
    if isinstance(value, bool):
        return "fits" if value else "does not fit"
    if unit in ("B", "B/s", "J/token", "op/s") or unit == "s":
        return si(value, unit)
    if unit == "x":
        return f"{value:.3g}x"
    return f"{_sig(value, 3)} {unit}".strip()


def factor(value: float) -> str:
    return f"{value:.3g}x"


def claimed_text(claimed, unit: str) -> str:
    """A claimed figure, range or limit in words (``simlow.claims.claimed.Claimed``)."""
    if unit == "x":
        return claimed.text(factor)
    return claimed.text(lambda v: metric_value(v, unit))
