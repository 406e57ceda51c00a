"""Reading software stacks from ``workloads/stacks/*.yaml`` (the schema is in
``simlow.sim.stacks``, with the ``Stack`` they become): strict YAML, every key checked,
build eras resolved (``simlow.sim.eras``), each file parsed once per content
(``simlow.specs.filememo``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from simlow import formats
from simlow.errors import SimlowError, unknown_name
from simlow.sim.eras import at_era, read_eras
from simlow.sim.host import read_host
from simlow.sim.stacks import VECTOR_FORMATS, BandwidthMode, FitSplit, GroupBy, Stack
from simlow.workload.op import OpClass
from simlow.specs.hardware import COMPUTE_FORMATS, EngineKind
from simlow.specs.filememo import FileMemo
from simlow.specs.registry import data_root
from simlow.specs.yamlfile import Reader, load_yaml
from simlow.quantities import Dim

SCHEMA_VERSION = 1
_CLASSES = tuple(c.value for c in OpClass)


def stack_dir() -> Path:
    return data_root() / "workloads" / "stacks"


def stack_names() -> list[str]:
    return sorted(p.stem for p in stack_dir().glob("*.yaml"))


def load_stack(name_or_path: str | Path) -> Stack:
    """A stack by name (``"llama.cpp-cuda"``) or by YAML path; ``<stack>@<era>`` names one of
    its build eras (``simlow.sim.eras``: ``@b2795-b2843``, ``@b2824``, ``@newest``)."""
    if isinstance(name_or_path, Stack):
        return name_or_path
    text = str(name_or_path)
    if "@" in text:
        head, tail = text.rsplit("@", 1)
        return at_era(load_stack(head), tail)
    path = Path(text) if text.endswith((".yaml", ".yml")) or "/" in text else stack_dir() / f"{text}.yaml"
    if path.is_dir():
        raise SimlowError(f"stack file {text!r} is a directory, not a file")
    if not path.is_file():
        if path.parent == stack_dir():
            raise unknown_name("stack", text, stack_names())
        raise SimlowError(f"stack file {text!r} does not exist")
    return _read(path.resolve())


def _read_stack(path: Path) -> Stack:
    r = Reader(load_yaml(path), str(path))
    if r.int("schema_version") != SCHEMA_VERSION:
        r.fail(f"schema_version must be {SCHEMA_VERSION}", "schema_version")
    name = r.str("name")
    if name != path.stem:
        r.fail(f"name {name!r} must equal the file name stem {path.stem!r}", "name")
    stack = Stack(
        name=name, title=r.str("title"), source=r.str("source"),
        engine=EngineKind(r.str("engine", choices=tuple(k.value for k in EngineKind))),
        formats=_formats(r),
        compute=_compute_list(r),
        dequantize_to=r.str("dequantize_to", choices=COMPUTE_FORMATS),
        ubatch=r.int("ubatch", default=512, minimum=1),
        vector_formats=_format_list(r, "vector_formats") if r.has("vector_formats") else VECTOR_FORMATS,
        fallback_engine=(EngineKind(r.str("fallback_engine", choices=tuple(k.value for k in EngineKind)))
                         if r.has("fallback_engine") else None),
        native_formats=_native(r) if r.has("native_formats") else None,
        expert_kernels=_expert_kernels(r) if r.has("expert_kernels") else None,
        bandwidth_mode=BandwidthMode(r.str("bandwidth_mode", default="occupancy",
                                           choices=tuple(m.value for m in BandwidthMode))),
        serving=read_host(r.sub("serving"), _fit_split) if r.has("serving") else None,
        **_calibrated(r, required=True),
    )
    if stack.fallback_engine is stack.engine:
        r.fail(f"fallback_engine must differ from engine ({stack.engine.value})", "fallback_engine")
    _check_energy(stack, r)
    if r.has("eras"):
        stack = replace(stack, eras=read_eras(r, stack, _era_stack))
    r.done()
    return stack


CALIBRATED = ("bandwidth", "compute_efficiency", "kernel_overhead", "step_overhead", "calibration",
              "matmul_unit_rate", "memory_unit_rate", "dequant_cost", "matmul_energy", "matmul_energy_scale",
              "matmul_tile_rows", "fitted_on")


def _calibrated(r: Reader, required: bool) -> dict:
    """The calibrated constants (``CALIBRATED``) a stack file or one of its eras gives, as
    ``Stack`` fields: all of them for the stack (optional ones at their defaults), only the
    keys present for an era (the rest are the stack's)."""
    readers = {
        "bandwidth": ("bandwidth", lambda: _fractions(r, "bandwidth")),
        "compute_efficiency": ("compute_efficiency", lambda: _fractions(r, "compute_efficiency")),
        "kernel_overhead": ("kernel_overhead_s", lambda: r.quantity("kernel_overhead", Dim.TIME)),
        "step_overhead": ("step_overhead_s", lambda: r.quantity("step_overhead", Dim.TIME)),
        "calibration": ("calibration", lambda: r.str("calibration")),
        "matmul_unit_rate": ("matmul_unit_rate", lambda: r.number("matmul_unit_rate", lo=1.0)),
        "memory_unit_rate": ("memory_unit_rate", lambda: r.number("memory_unit_rate", lo=0.01)),
        "dequant_cost": ("dequant_cost", lambda: r.number("dequant_cost", lo=0.0, hi=100.0)),
        "matmul_energy": ("matmul_energy_J", lambda: r.quantity("matmul_energy", Dim.ENERGY)),
        "matmul_energy_scale": ("matmul_energy_scale", lambda: r.number("matmul_energy_scale", lo=1.0)),
        "matmul_tile_rows": ("matmul_tile_rows", lambda: r.number("matmul_tile_rows", lo=1.0, hi=4096.0)),
        "fitted_on": ("fitted_on", lambda: _fit_split(r)),
    }
    must = ("bandwidth", "compute_efficiency", "kernel_overhead", "calibration") if required else ("calibration",)
    out = {}
    for key, (attr, read) in readers.items():
        if r.has(key) or key in must:
            out[attr] = read()
        elif required:
            out[attr] = 0.0 if key == "step_overhead" else None
    return out


def _check_energy(stack: Stack, r: Reader) -> None:
    if stack.matmul_energy_J is not None and stack.matmul_energy_scale is not None:
        r.fail("give matmul_energy or matmul_energy_scale, not both", "matmul_energy_scale")


def _era_stack(base: Stack, r: Reader, era: str) -> Stack:
    """``base`` with the calibrated constants era ``era`` (reader ``r``) gives."""
    given = {"fitted_on": None, **_calibrated(r, required=False)}    # an era's split is its own
    stack = replace(base, era=era, eras=(), **given)
    _check_energy(stack, r)
    return stack


def _fit_split(r: Reader) -> FitSplit:
    sub = r.sub("fitted_on")
    by = GroupBy(sub.str("by", choices=tuple(g.value for g in GroupBy)))
    split = FitSplit(by, frozenset(sub.str_list("train")), frozenset(sub.str_list("held_out")))
    if not split.train:
        sub.fail("must name at least one group", "train")
    if split.train & split.held_out:
        sub.fail(f"groups both trained on and held out: {', '.join(sorted(split.train & split.held_out))}",
                 "held_out")
    sub.done()
    return split


_read = FileMemo(_read_stack)


def _formats(r: Reader) -> frozenset[str]:
    out: set[str] = set()
    for item in r.str_list("formats"):
        if item == "gguf":
            out |= {n for n, f in formats.FORMATS.items() if f.gguf_type is not None}
        elif item in formats.FORMATS:
            out.add(item)
        else:
            r.fail(f"unknown storage format {item!r} (valid: gguf, {', '.join(sorted(formats.FORMATS))})",
                   "formats")
    return frozenset(out)


def _native(r: Reader) -> frozenset[str]:
    items = r.str_list("native_formats")
    for item in items:
        if item not in formats.FORMATS:
            r.fail(f"unknown storage format {item!r} (valid: {', '.join(sorted(formats.FORMATS))})",
                   "native_formats")
    return frozenset(items)


def _expert_kernels(r: Reader) -> tuple[float, float]:
    sub = r.sub("expert_kernels")
    out = (sub.number("mmq", lo=0.0, hi=64.0), sub.number("blas", lo=0.0, hi=64.0))
    sub.done()
    return out


def _compute_list(r: Reader) -> tuple[str, ...]:
    return _format_list(r, "compute", allow_empty=True)


def _format_list(r: Reader, key: str, allow_empty: bool = False) -> tuple[str, ...]:
    items = r.str_list(key)
    if not items and not allow_empty:
        r.fail("must list at least one compute format", key)
    for item in items:
        if item not in COMPUTE_FORMATS:
            r.fail(f"unknown compute format {item!r} (valid: {', '.join(COMPUTE_FORMATS)})", key)
    return tuple(items)


def _fractions(r: Reader, key: str) -> Mapping[str, float]:
    sub = r.sub(key)
    out = {}
    for cls in _CLASSES:
        out[cls] = sub.number(cls, lo=1e-4, hi=1.0)
    sub.done()
    return MappingProxyType(out)
