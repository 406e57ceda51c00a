"""Sweep files: which evaluator, which settings are fixed, which vary (axes).

Schema (version 1), read strictly (unknown keys, wrong types and unknown names are errors
naming the file and key path)::

    sweep: 1                      # schema version
    name: bits-vs-speed
    evaluate: predict             # an evaluator from simlow.sweep.evaluators (fit, predict)
    fixed:                        # optional: settings shared by every point
      stack: ideal
      prompt: 512
    axes:                         # the points are the cartesian product, first axis slowest
      model: [llama-3-8b]
      hw: [rtx-4060ti-16gb, h100-sxm]
      scheme: [q2_k, q4_0, q8_0]
      batch: [1, 8]

A setting may be fixed or an axis, not both. Model, hardware and scheme names are checked
against the shipped specs (or must be existing files) when the sweep is loaded.

Points are numbered in product order; ``SweepSpec.id`` is a hash of the evaluator and every
point's settings, so a results file can tell whether its rows belong to this sweep.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from simlow.errors import SimlowError
from simlow.specs.registry import resolve
from simlow.specs.yamlfile import Reader, as_whole, load_yaml
from simlow.sweep.evaluators import EVALUATORS, SPEC_NAMES, Evaluator, evaluator

SCHEMA_VERSION = 1
MAX_POINTS = 1_000_000


@dataclass(frozen=True)
class SweepSpec:
    name: str
    evaluate: str
    fixed: Mapping[str, Any]
    axes: tuple[tuple[str, tuple], ...]     # (setting, values) in file order

    @property
    def size(self) -> int:
        return math.prod(len(v) for _, v in self.axes)

    def points(self) -> list[dict]:
        """Every point's full settings (axes then fixed), in product order."""
        names = [k for k, _ in self.axes]
        return [{**dict(zip(names, combo)), **self.fixed}
                for combo in itertools.product(*(v for _, v in self.axes))]

    @property
    def columns(self) -> tuple[str, ...]:
        """Row columns in order: index, settings, results, error."""
        return ("index", *(k for k, _ in self.axes), *self.fixed, *evaluator(self.evaluate).outputs, "error")

    @property
    def id(self) -> str:
        text = json.dumps([self.evaluate, self.points()], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _value(r: Reader, key: str, value: Any, ev: Evaluator, where: str) -> Any:
    want = ev.params[key]
    if want is int:
        value = as_whole(value)
    if want is int and (isinstance(value, bool) or not isinstance(value, int)):
        r.fail(f"{where}: expected a whole number, got {value!r}", key)
    if want is str and not isinstance(value, str):
        r.fail(f"{where}: expected text, got {value!r}", key)
    if key in SPEC_NAMES:
        try:
            resolve(SPEC_NAMES[key], value)
        except SimlowError as err:
            r.fail(f"{where}: {err}", key)
    return value


def _check_key(r: Reader, key: str, ev: Evaluator) -> None:
    if key not in ev.params:
        r.fail(f"{ev.name!r} takes no setting {key!r} (valid: {', '.join(ev.params)})", key)


def read_sweep(data: Any, origin: str) -> SweepSpec:
    r = Reader(data, origin)
    version = r.int("sweep")
    if version != SCHEMA_VERSION:
        r.fail(f"schema version {version} is not supported (this simlow reads {SCHEMA_VERSION})", "sweep")
    name = r.str("name")
    ev = evaluator(r.str("evaluate", choices=tuple(EVALUATORS)))
    fixed: dict[str, Any] = {}
    fr = r.sub("fixed", required=False)
    if fr is not None:
        for key in fr.keys():
            _check_key(fr, key, ev)
            fixed[key] = _value(fr, key, fr.data[key], ev, "value")
            fr.has(key)
        fr.done()
    ar = r.sub("axes")
    axes = []
    for key in ar.keys():
        _check_key(ar, key, ev)
        if key in fixed:
            ar.fail("is both fixed and an axis", key)
        values = ar.list(key)
        if not values:
            ar.fail("an axis needs at least one value", key)
        if len(set(map(repr, values))) != len(values):
            ar.fail("repeats a value", key)
        axes.append((key, tuple(_value(ar, key, v, ev, f"item {i}") for i, v in enumerate(values))))
    ar.done()
    r.done()
    missing = [k for k in ev.required if k not in fixed and k not in dict(axes)]
    if missing:
        raise SimlowError(f"{origin}: {ev.name!r} needs {', '.join(missing)} (as fixed settings or axes)")
    spec = SweepSpec(name, ev.name, fixed, tuple(axes))
    if spec.size > MAX_POINTS:
        raise SimlowError(f"{origin}: {spec.size} points is more than {MAX_POINTS}; split the sweep")
    return spec


def load_sweep(path: str | Path) -> SweepSpec:
    """A sweep spec from its YAML file (see module doc)."""
    return read_sweep(load_yaml(path), str(path))
