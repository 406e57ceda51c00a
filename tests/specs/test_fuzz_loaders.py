"""Fuzzing every YAML loader (issue 19): whatever the file holds, a loader returns a valid
object or raises ``SimlowError`` (the CLI's exit 2), never another exception, within a time
bound (Hypothesis ``deadline``) and a memory bound (``tracemalloc`` peak) per case.

Inputs: shipped files mutated as data (a key dropped, renamed or retyped, a value replaced by
random YAML, wrapped in deep nesting, a list item repeated) and as text (a line deleted or
repeated, an anchor and alias added, a cut, random text spliced in), random bytes and random
text; and the NPU design flags of ``simlow npu show``. Derandomized, so CI sees the same
cases every run; about 30 s on a lightly loaded core. (GGUF headers and HF config.json are
fuzzed in their own tests.)
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlow.claims import load_claims
from simlow.claims.schema import ClaimFile
from simlow.cli import main
from simlow.cost.memory import MemoryTable, load_memory
from simlow.cost.primitives import PrimitiveTable, load_primitives
from simlow.cost.scaling import ScalingData, load_scaling
from simlow.errors import SimlowError
from simlow.npu.data import NpuData, load_npu_data
from simlow.sim.stacks import Stack
from simlow.sim.stack_load import load_stack
from simlow.specs import HardwareSpec, ModelSpec, Scheme, load_hw, load_model, load_scheme
from simlow.specs.registry import data_root
from simlow.sweep import load_sweep
from simlow.sweep.spec import SweepSpec

ROOT = data_root()
COST = Path(__file__).resolve().parents[2] / "simlow" / "data" / "cost"
PEAK_BYTES = 64 * 2**20        # a shipped file's load peaks near 1 MB
FUZZ = settings(derandomize=True, deadline=timedelta(seconds=4), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _claims_seed() -> str:
    """Four shipped claims that name shipped specs only (so the copy loads from anywhere)."""
    doc = yaml.safe_load((ROOT / "workloads" / "claims" / "seeds.yaml").read_text())
    plain = [c for c in doc["claims"] if not any("/" in str(c.get(k, "")) for k in ("model", "hw", "scheme"))]
    doc["claims"], doc["not_checked"] = plain[:4], doc["not_checked"][:1]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# kind -> (loader, the type it returns, seed files as (file name, text))
KINDS: dict[str, tuple[Callable[[Path], Any], type, list[tuple[str, str]]]] = {
    "hardware": (load_hw, HardwareSpec, ["rtx-4090", "m4-max", "edge-npu-28nm", "strix-halo"]),
    "model": (load_model, ModelSpec, ["llama-2-7b", "qwen3-30b-a3b", "gemma-2-9b", "gpt-oss-20b"]),
    "scheme": (load_scheme, Scheme, ["q4_k_m", "kv-q8_0", "mxfp4_moe", "w4a8kv4"]),
    "stack": (load_stack, Stack, ["llama.cpp-cuda", "ideal", "fastflowlm"]),
    "claims": (load_claims, ClaimFile, ["claims"]),
    "sweep": (load_sweep, SweepSpec, ["bits-vs-speed", "kv-formats-16gb"]),
    "npu-data": (load_npu_data, NpuData, ["npu"]),
    "primitives": (load_primitives, PrimitiveTable, ["primitives"]),
    "memory": (load_memory, MemoryTable, ["memory"]),
    "scaling": (load_scaling, ScalingData, ["scaling"]),
}
_DIRS = {"hardware": ROOT / "hwspecs", "model": ROOT / "workloads" / "models",
         "scheme": ROOT / "workloads" / "schemes", "stack": ROOT / "workloads" / "stacks",
         "sweep": ROOT / "workloads" / "sweeps"}


def _seed_text(kind: str, stem: str) -> str:
    if kind == "claims":
        return _claims_seed()
    return ((_DIRS[kind] if kind in _DIRS else COST) / f"{stem}.yaml").read_text()


SEEDS = {kind: [(stem, _seed_text(kind, stem)) for stem in stems] for kind, (_, _, stems) in KINDS.items()}


def _load(kind: str, name: str, content: bytes) -> None:
    """Load ``content`` as file ``name`` with ``kind``'s loader, within the memory bound."""
    load, expected, _ = KINDS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.yaml"
        path.write_bytes(content)
        tracemalloc.start()
        try:
            result = load(path)
            assert isinstance(result, expected), type(result)
        except SimlowError as err:
            msg = str(err)
            assert msg and "\n" not in msg, msg
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert peak < PEAK_BYTES, f"{kind}: {peak / 2**20:.0f} MiB"


def test_every_seed_loads():
    for kind, seeds in SEEDS.items():
        load, expected, _ = KINDS[kind]
        for stem, text in seeds:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"{stem}.yaml"
                path.write_text(text)
                assert isinstance(load(path), expected), (kind, stem)


# -- strategies -----------------------------------------------------------------------------

WORDS = ["1.5e2", "1e3", "1_000", ".nan", "-.inf", ".inf", "0x1F", "0o17", "2024-01-01", "~", "yes", "no",
         "12:30", "1 GB", "3.35 TB/s", "-1 GB/s", "0 GHz", "1e400 W", "nan GB", "1_000 GB", "all", "gguf",
         "fp16", "int8", "q4_0", "llama-2-7b", "h100-sxm", "gpu", "cpu", "npu", "none", "", " ", "\t"]
SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.integers(-3, 300)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12) | st.sampled_from(WORDS))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8) | st.sampled_from(WORDS), inner, max_size=4),
                      max_leaves=10)


def _slots(data: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in ``data``, by an iterative walk."""
    out, todo = [], [data]
    while todo:
        node = todo.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            out.append((node, k))
            todo.append(v)
    return out


def _mutate_data(draw, data: Any) -> Any:
    slots = _slots(data)
    if not slots:
        return draw(VALUES)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(data) or [(data, None)]
        node, key = draw(st.sampled_from(slots))
        if key is None:
            break
        op = draw(st.sampled_from(["drop", "replace", "retype", "nest", "rename", "repeat"]))
        if op == "drop":
            del node[key]
        elif op == "replace":
            node[key] = draw(VALUES)
        elif op == "retype":
            v = node[key]
            node[key] = str(v) if not isinstance(v, str) else draw(SCALARS)
        elif op == "nest":
            v = node[key]
            for _ in range(draw(st.integers(1, 40))):
                v = [v] if draw(st.booleans()) else {"a": v}
            node[key] = v
        elif op == "rename" and isinstance(node, dict):
            node[f"{key}{draw(st.sampled_from(['x', '_', '2', ' ']))}"] = node.pop(key)
        elif op == "repeat" and isinstance(node, list):
            node.insert(key, node[key])
    return data


def _mutate_text(draw, text: str) -> str:
    lines = text.splitlines(keepends=True) or ["\n"]
    i = draw(st.integers(0, len(lines) - 1))
    op = draw(st.sampled_from(["delete", "repeat", "alias", "cut", "splice", "indent"]))
    if op == "delete":
        del lines[i]
    elif op == "repeat":
        lines.insert(i, lines[i])
    elif op == "alias" and ":" in lines[i]:
        head, _, value = lines[i].partition(":")
        lines[i] = f"{head}: &x {value.strip() or '1'}\n"
        lines.append(f"extra_{i}: *x\n")
    elif op == "cut":
        return "".join(lines)[: draw(st.integers(0, len(text)))]
    elif op == "splice":
        lines.insert(i, draw(st.text(max_size=30)) + "\n")
    elif op == "indent":
        lines[i] = " " * draw(st.integers(1, 5)) + lines[i]
    return "".join(lines)


@st.composite
def mutated(draw, kind: str) -> tuple[str, bytes]:
    stem, text = draw(st.sampled_from(SEEDS[kind]))
    if draw(st.booleans()):
        data = _mutate_data(draw, yaml.safe_load(text))
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    else:
        text = _mutate_text(draw, text)
    return stem, text.encode("utf-8", "surrogatepass")


# -- the fuzz tests -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KINDS))
@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_mutated_shipped_files(kind, data):
    stem, content = data.draw(mutated(kind))
    _load(kind, stem, content)


@settings(FUZZ, max_examples=60)
@given(kind=st.sampled_from(list(KINDS)), content=st.binary(max_size=300))
def test_random_bytes(kind, content):
    _load(kind, "x", content)


@settings(FUZZ, max_examples=60)
@given(kind=st.sampled_from(list(KINDS)),
       text=st.text(st.characters(codec="utf-8") | st.sampled_from(list(":-[]{}&*!|>'\"#%@`,?\n ")), max_size=200))
def test_random_text(kind, text):
    _load(kind, "x", text.encode("utf-8", "surrogatepass"))


FLAG_TEXT = st.text(st.sampled_from(list("0123456789x.-_ KMGiBnmpotw")), max_size=10)


@settings(FUZZ, max_examples=40)
@given(unit=st.sampled_from(["pot4", "int8", "w4a8", "ternary", "fp8", "bf16", "int3", ""]),
       array=st.sampled_from(["1x64x64", "2x32x32", "0x8x8", "1x8x16", "1x100000x100000"]) | FLAG_TEXT,
       sram=st.sampled_from(["2MiB", "512KiB", "0B", "1 TB", "-1 KiB"]) | FLAG_TEXT,
       dram=st.sampled_from(["lpddr5x-8533x64", "lpddr5x-8533", "ddr5-6400x128", "hbm9-1x1"]) | FLAG_TEXT,
       node=st.sampled_from(["28nm", "7nm", "3nm", "1nm", "500nm", "0nm"]) | FLAG_TEXT,
       capacity=st.sampled_from(["16GB", "0GB", "1e3 GB"]) | FLAG_TEXT,
       lanes=st.integers(-2, 10**6), derate=st.floats(allow_nan=True, allow_infinity=True))
def test_npu_design_flags(unit, array, sram, dram, node, capacity, lanes, derate):
    argv = ["npu", "show", f"--unit={unit}", f"--array={array}", f"--sram={sram}", f"--dram={dram}",
            f"--node={node}", f"--capacity={capacity}", f"--lanes={lanes}", f"--clock-derate={derate}", "--json"]
    out, err = io.StringIO(), io.StringIO()
    tracemalloc.start()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exit_:          # argparse: a value it cannot read as the option's type
        code = exit_.code
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert code in (0, 2), (argv, code, err.getvalue())
    assert "Traceback" not in err.getvalue()
    assert peak < PEAK_BYTES
