"""The requests a server sees: arrival times, prompt and output lengths, shared prefixes.

Open-loop arrivals at ``rate`` requests/s from a seeded ``numpy.random.Generator``
(``default_rng(seed)``), so a seed gives the same times on every run and machine:

* ``poisson``: exponential gaps of mean ``1 / rate``;
* ``constant``: gaps of exactly ``1 / rate`` (the first request at 0);
* ``gamma``: gamma gaps of mean ``1 / rate`` and coefficient of variation ``cv`` (shape
  ``1 / cv^2``; ``cv = 1`` is Poisson, larger is burstier), as vLLM's
  ``benchmarks/benchmark_serving.py --burstiness`` (its burstiness is ``1 / cv^2``);
* ``closed``: ``concurrency`` clients, each sending its next request the moment its last
  one finishes (arrival times are then set by the simulation).

A trace (``--trace FILE``) is JSON Lines, one request per line::

    {"arrival_s": 0.0, "prompt_len": 512, "output_len": 128, "prefix_id": "sys-a", "prefix_len": 256}

``prefix_id`` / ``prefix_len`` (optional, together) say that the first ``prefix_len`` prompt
tokens are the same as those of every other request with that prefix id (a shared system
prompt), which prefix caching can reuse.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simlow.errors import SimlowError


class Arrivals(enum.Enum):
    POISSON = "poisson"
    CONSTANT = "constant"
    GAMMA = "gamma"
    CLOSED = "closed"
    TRACE = "trace"


@dataclass(frozen=True)
class RequestStream:
    """Request ``i`` arrives at ``arrival_s[i]`` (NaN for a closed loop's later requests)."""

    arrival_s: np.ndarray
    prompt: np.ndarray
    output: np.ndarray
    prefix_id: np.ndarray          # int per request, -1: no shared prefix
    prefix_len: np.ndarray
    kind: Arrivals
    concurrency: int = 0           # closed loop: clients

    @property
    def n(self) -> int:
        return len(self.prompt)


def _positive(name, value, integer=False):
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok or not value > 0 or not np.isfinite(value):
        raise SimlowError(f"{name} must be a {'whole number' if integer else 'number'} > 0, got {value!r}")
    return value


def synthetic(kind: str, requests: int, prompt_len: int, output_len: int, rate: float | None = None,
              seed: int = 0, cv: float = 1.0, concurrency: int | None = None) -> RequestStream:
    """``requests`` requests of fixed lengths arriving as ``kind`` (module docstring)."""
    try:
        k = Arrivals(kind)
    except ValueError:
        raise SimlowError(f"unknown arrivals {kind!r} (valid: poisson, constant, gamma, closed)") from None
    if k is Arrivals.TRACE:
        raise SimlowError("trace arrivals come from a file: give --trace FILE")
    n = _positive("requests", requests, True)
    _positive("prompt length", prompt_len, True)
    _positive("output length", output_len, True)
    rng = np.random.default_rng(seed)
    conc = 0
    if k is Arrivals.CLOSED:
        conc = _positive("concurrency", concurrency, True)
        t = np.full(n, np.nan)
        t[:min(conc, n)] = 0.0
    else:
        r = _positive("rate", rate)
        if k is Arrivals.POISSON:
            gaps = rng.exponential(1.0 / r, n)
        elif k is Arrivals.CONSTANT:
            gaps = np.full(n, 1.0 / r)
        else:
            _positive("cv", cv)
            shape = 1.0 / cv ** 2
            gaps = rng.gamma(shape, 1.0 / (r * shape), n)
        t = np.concatenate(([0.0], np.cumsum(gaps[1:]))) if k is Arrivals.CONSTANT else np.cumsum(gaps)
    return RequestStream(t, np.full(n, prompt_len, dtype=np.int64), np.full(n, output_len, dtype=np.int64),
                    np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64), k, conc)


def _field(path, line_no, row, key, minimum, kind=int):
    if key not in row:
        raise SimlowError(f"{path}: line {line_no}: missing key {key!r} (keys: arrival_s, prompt_len, output_len, "
                          "optional prefix_id, prefix_len)")
    v = row[key]
    good = isinstance(v, (int, float)) and not isinstance(v, bool) and (kind is float or float(v).is_integer())
    if not good or not v >= minimum or not np.isfinite(v):
        what = "a number" if kind is float else "a whole number"
        raise SimlowError(f"{path}: line {line_no}: {key} must be {what} >= {minimum}, got {v!r}")
    return kind(v)


def load_trace(path: str | Path) -> RequestStream:
    """A JSON Lines trace (module docstring); rows are sorted by arrival (stable)."""
    p = Path(path)
    if not p.is_file():
        raise SimlowError(f"trace file {str(path)!r} does not exist")
    rows, prefixes = [], {}
    for i, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise SimlowError(f"{p}: line {i}: not JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise SimlowError(f"{p}: line {i}: expected a JSON object, got {type(row).__name__}")
        unknown = sorted(set(row) - {"arrival_s", "prompt_len", "output_len", "prefix_id", "prefix_len"})
        if unknown:
            raise SimlowError(f"{p}: line {i}: unknown key {unknown[0]!r} (valid: arrival_s, prompt_len, "
                              "output_len, prefix_id, prefix_len)")
        a = _field(p, i, row, "arrival_s", 0.0, float)
        pl, ol = _field(p, i, row, "prompt_len", 1), _field(p, i, row, "output_len", 1)
        pid, plen = -1, 0
        if ("prefix_id" in row) != ("prefix_len" in row):
            raise SimlowError(f"{p}: line {i}: give prefix_id and prefix_len together")
        if "prefix_id" in row:
            plen = _field(p, i, row, "prefix_len", 1)
            if plen > pl:
                raise SimlowError(f"{p}: line {i}: prefix_len {plen} exceeds prompt_len {pl}")
            pid = prefixes.setdefault(str(row["prefix_id"]), len(prefixes))
        rows.append((a, pl, ol, pid, plen))
    if not rows:
        raise SimlowError(f"{p}: no requests in the trace")
    rows.sort(key=lambda r: r[0])
    cols = list(zip(*rows))
    return RequestStream(np.array(cols[0], dtype=np.float64), *(np.array(c, dtype=np.int64) for c in cols[1:]),
                    kind=Arrivals.TRACE)
