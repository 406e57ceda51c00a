"""Measured rows of ``workloads/measured/*.csv``, mapped to what simlow can predict.

Each CSV row becomes a ``Measured`` (what was run, as the file says it) and is mapped to a
``Case`` (hw, model, scheme, stack, test) or to the reason it cannot be. Mapping is by the
explicit tables below, never by fuzzy matching: a device string maps to one hwspec name,
a model text to one model name, a quant to one scheme, a backend to one stack. A name whose
spec file does not exist (yet) leaves the row unmapped with that reason.

Tests (llama-bench conventions): ``ppP`` = prefill of P tokens at depth 0; ``tgG`` = G
decode steps from an empty cache; ``... @ dD`` = the same on top of D cached tokens;
llama-batched-bench ``S_PP (PP=P)`` / ``S_TG (TG=G after PP=P)`` = the same with the
prompt in the cache; LMDeploy's "throughput(out tok/s)" = G / (prefill + decode time),
counted with decode (``RowKind.E2E``).
"""

from __future__ import annotations

import csv
import enum
import re
from dataclasses import dataclass, replace
from pathlib import Path

from simlow.errors import SimlowError
from simlow.sim.eras import parse_build
from simlow.specs import names
from simlow.specs.scheme import Scheme
from simlow.validation.mapping import load_mapping

# The CSVs' device / model / quant / backend texts -> simlow names: workloads/measured/mapping.yaml
# (simlow.validation.mapping). "NVIDIA A100 80GB" does not say PCIe or SXM, but both 80 GB boards
# have the same GA100 (108 SMs, 1.41 GHz boost) and 1935 vs 2039 GB/s: it maps to the SXM spec (as
# LMDeploy's "A100-80G"); the PCIe card would predict decode ~4% lower, prefill the same.
STRIX_HALO = "strix-halo"

# Strix Halo HIP builds run without ROCBLAS_USE_HIPBLASLT=1 (the file's empty ``hipblaslt``
# column) are a software configuration of their own: llama.cpp's HIP backend whose float
# GEMMs (prompt processing of dequantized weights) go through rocBLAS's own kernels instead
# of hipBLASLt's, 3-5x slower on gfx1151 in the same file. They map to the stack
# ``llama.cpp-rocm-rocblas`` (prefill and decode alike: one build, one stack).
ROCBLAS_DEFAULT = " (rocBLAS default)"


# How a row's file is described by a scheme (``Case.mapping``):
EXACT = "scheme"               # the labelled scheme reproduces the file to within SIZE_TOLERANCE
BY_SIZE = "by_size"            # the label is not the mix; the file's size identifies the scheme
SIZE_MATCHED = "size_matched"  # approximation: labelled scheme, every weight tensor's bytes scaled
MAPPINGS = (EXACT, BY_SIZE, SIZE_MATCHED)

# (model, quant label) -> the scheme the file's size identifies (mapping.yaml by_size_schemes).
# llama.cpp's convert_hf_to_gguf.py keeps gpt-oss's MXFP4 expert tensors as they ship whatever
# --outtype says, so lhl's "gpt-oss-*-F16" files are MXFP4 experts + F16 elsewhere, labelled "F16"
# by their file type. Scheme ``mxfp4`` (MXFP4 experts, 16-bit elsewhere, norms/biases/router F32)
# gives 13,779,630,336 and 65,355,994,368 bytes: the files' model_size to the byte.
# (``mxfp4_moe``, Q8_0 outside the experts, is 12% / 3% smaller: it is not these files.)
BY_SIZE_WHY = ("labelled F16, but convert_hf_to_gguf keeps gpt-oss's MXFP4 experts: the file's size identifies "
               "scheme {scheme} (MXFP4 experts, 16-bit elsewhere; {gib:.2f} GiB)")

# Model texts (mapping.yaml dynamic_mixes) of files whose per-tensor mix the publisher chose by its own rules. When the
# labelled file type's scheme misses the file by more than SIZE_TOLERANCE their rows are
# mapped SIZE_MATCHED: that scheme with every weight tensor's bytes scaled by file / scheme
# bytes (``size_matched``), reported as a separate group. Unsloth publishes no per-tensor
# rule for its "Dynamic 2.0" quants (unsloth.ai/blog/dynamic-v2: each layer's type chosen
# by measured sensitivity, model by model); Google's QAT Q4_0 GGUF of Gemma 3 4B is 2.35 GiB
# where llama.cpp's Q4_0 rules (Q6_K tied embedding) give 2.20 GiB.


@dataclass(frozen=True)
class Measured:
    source: str          # file stem
    line: int            # 1-based line in the file (header = 1)
    device: str
    backend: str
    model: str
    quant: str
    test: str
    tok_s: float
    power_w: float | None = None
    gguf_bytes: float | None = None
    ubatch: int | None = None     # llama-bench -ub (prompt tokens per step), when stated
    build: int | None = None      # llama.cpp build number (column llamacpp_build), when stated
    devices: int = 1              # GPUs in tensor parallel (LMDeploy's num_gpus_tp), when stated


class RowKind(enum.StrEnum):
    """What a measured row times: prompt processing (``pp``, prefill), token generation
    (``tg``, decode) or a whole request (``e2e``: prefill and decode together)."""
    PP = "pp"
    TG = "tg"
    E2E = "e2e"


@dataclass(frozen=True)
class Case:
    hw: str
    model: str
    scheme: str
    stack: str
    kind: RowKind
    batch: int
    prompt: int
    gen: int
    depth: int
    ubatch: int | None = None
    mapping: str = EXACT          # EXACT | BY_SIZE | SIZE_MATCHED (see ``MAPPINGS``)
    size_scale: float = 1.0       # SIZE_MATCHED: file bytes / the scheme's bytes
    note: str = ""                # why a BY_SIZE / SIZE_MATCHED row was mapped as it was
    build: int | None = None      # the measured build (selects the stack's era: simlow.sim.eras)
    tp: int = 1                   # devices in tensor parallel (simlow.sim.parallel); 1: one device

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", RowKind(self.kind))

    @property
    def metric(self) -> str:
        return "prefill" if self.kind is RowKind.PP else "decode"


_PP = re.compile(r"^pp(\d+)(?: @ d(\d+))?$")
_TG = re.compile(r"^tg(\d+)(?: @ d(\d+))?$")
_S_PP = re.compile(r"^S_PP \(PP=(\d+)\)$")
_S_TG = re.compile(r"^S_TG \(TG=(\d+) after PP=(\d+)\)$")


def parse_test(test: str, batch: int = 1) -> tuple[RowKind, int, int, int] | str:
    """(kind, prompt, gen, depth) of a test name, or the reason it is not understood."""
    t = test.strip()
    if m := _PP.match(t):
        return RowKind.PP, int(m[1]), 0, int(m[2] or 0)
    if m := _TG.match(t):
        return RowKind.TG, 0, int(m[1]), int(m[2] or 0)
    if m := _S_PP.match(t):
        return RowKind.PP, int(m[1]), 0, 0
    if m := _S_TG.match(t):
        return RowKind.TG, 0, int(m[1]), int(m[2])
    return f"test {test!r} is not a llama-bench / batched-bench test simlow reads"


# -- reading -------------------------------------------------------------------------------

def _num(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _generic(path: Path, rows: list[dict]) -> list[Measured]:
    out = []
    for i, r in enumerate(rows, start=2):
        gib = _num(r.get("gguf_size_gib", ""))
        ub = re.search(r"-ub (\d+)", r.get("tool", ""))
        out.append(Measured(path.stem, i, r["device"], r["backend"], r["model"], r["quant"], r["test"],
                            float(r["tokens_per_s"]), gguf_bytes=gib * 2**30 if gib else None,
                            ubatch=int(ub[1]) if ub else None, build=parse_build(r.get("llamacpp_build"))))
    return out


# llama.cpp runs a prompt in micro-batches of min(n_batch, n_ubatch) tokens (src/llama-context.cpp:
# ``cparams.n_ubatch = std::min(cparams.n_batch, params.n_ubatch ...)``), and llama-bench reports
# the n_ubatch it was given: lhl's ``-b 256`` runs (column batch_flag) list n_ubatch 512 but
# process the prompt 256 tokens at a time.
_BATCH_FLAG = re.compile(r"(?:^|\s)-b (\d+)")


def effective_ubatch(n_ubatch: int | None, batch_flag: str) -> int | None:
    """The micro-batch a llama-bench run used: its n_ubatch, capped by a ``-b N`` flag."""
    m = _BATCH_FLAG.search(batch_flag)
    if m is None or n_ubatch is None:
        return n_ubatch
    return min(n_ubatch, int(m[1]))


def _strix(path: Path, rows: list[dict]) -> list[Measured]:
    out, quants = [], load_mapping().quants
    for i, r in enumerate(rows, start=2):
        quant = next((q for q in quants if r["llama_bench_model"].endswith(" " + q)), r["llama_bench_model"])
        backend = r["backend_build"]
        if backend in ("llama.cpp-hip", "llama.cpp-rocwmma") and r["hipblaslt"].strip() != "1":
            backend += ROCBLAS_DEFAULT
        out.append(Measured(path.stem, i, STRIX_HALO, backend, r["model_dir"], quant, r["test"],
                            float(r["tokens_per_s"]), _num(r["avg_power_w"]), _num(r["model_size_bytes"]),
                            effective_ubatch(int(r["n_ubatch"]) if r["n_ubatch"] else None, r["batch_flag"]),
                            parse_build(r["llamacpp_build"])))
    return out


def _exllama(path: Path, rows: list[dict]) -> list[Measured]:
    return [Measured(path.stem, i, r["device"], r["backend"], f"{r['model']} {r['model_size']}", r["quant"],
                     "tg128", float(r["tokens_per_s"])) for i, r in enumerate(rows, start=2)]


def _lmdeploy(path: Path, rows: list[dict]) -> list[Measured]:
    """LMDeploy's benchmark rows; ``num_gpus_tp`` > 1 rows ran TurboMind in tensor parallel
    over that many GPUs of the device (``Case.tp``)."""
    return [Measured(path.stem, i, r["device"], r["backend"], r["model"], r["quant"],
                     f"e2e b{r['batch']} p{r['prompt_tokens']} g{r['output_tokens']}", float(r["tokens_per_s"]),
                     devices=int(r["num_gpus_tp"])) for i, r in enumerate(rows, start=2)]


_READERS = {"strix_halo": _strix, "exllamav2": _exllama, "lmdeploy": _lmdeploy}
# Not throughput tables: specs, model facts, meter readings (energy_*), silicon figures (silicon_*)
# and serving runs under load (serving_*: simlow.serving.validate reads them).
SKIP_FILES = ("device_specs", "model_facts", "energy_", "silicon_", "serving_")


def read_dir(data: Path) -> list[Measured]:
    """Every measurement row of every throughput CSV in ``data`` (sorted by file)."""
    out = []
    for path in sorted(Path(data).glob("*.csv")):
        if path.stem.startswith(SKIP_FILES):
            continue
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        reader = next((fn for key, fn in _READERS.items() if path.stem.startswith(key)), _generic)
        out += reader(path, rows)
    return out


# -- mapping -------------------------------------------------------------------------------

_E2E = re.compile(r"^e2e b(\d+) p(\d+) g(\d+)$")
SIZE_TOLERANCE = 0.04    # a scheme must reproduce the file's size to within 4%


# llama.cpp's Vulkan backend runs different matmul shaders on NVIDIA drivers (coopmat2,
# VK_NV_cooperative_matrix2) than on AMD / Intel drivers: two stacks (mapping.yaml vendor_stacks).


def map_row(row: Measured) -> Case | str:
    """The ``Case`` a row is a measurement of, or why it cannot be mapped."""
    names_of = load_mapping()
    if row.device in names_of.unmapped_devices:
        return f"device {row.device!r}: {names_of.unmapped_devices[row.device]}"
    hw = names_of.devices.get(row.device, STRIX_HALO if row.device == STRIX_HALO else None)
    if hw is None:
        return f"device {row.device!r} is not in the mapping table"
    model = names_of.models.get(row.model)
    if model is None:
        return f"model {row.model!r} is not in the mapping table"
    reason = next((why for k, why in names_of.unmapped_quants.items() if row.quant.startswith(k)), None)
    if reason is not None:
        return f"quant {row.quant!r}: {reason}"
    scheme = names_of.quants.get(row.quant)
    stack = names_of.backends.get(row.backend)
    stack = names_of.vendor_stacks.get((stack, row.device.split()[0]), stack)
    if scheme is None or stack is None:
        return f"quant {row.quant!r} or backend {row.backend!r} is not in the mapping table"
    for kind, name in (("hardware", hw), ("model", model), ("scheme", scheme)):
        if name not in names(kind):
            return f"no {kind} spec {name!r} yet"
    from simlow.sim.stack_load import stack_names

    if stack not in stack_names():
        return f"no stack {stack!r} yet"
    return _by_file(row, hw, model, scheme, stack)


def _case(row: Measured, hw: str, model: str, scheme: str, stack: str) -> Case | str:
    if m := _E2E.match(row.test):
        return Case(hw, model, scheme, stack, RowKind.E2E, int(m[1]), int(m[2]), int(m[3]), 0, build=row.build,
                    tp=row.devices)
    parsed = parse_test(row.test)
    if isinstance(parsed, str):
        return parsed
    kind, prompt, gen, depth = parsed
    return Case(hw, model, scheme, stack, kind, 1, prompt, gen, depth, row.ubatch, build=row.build)


def _by_file(row: Measured, hw: str, model: str, scheme: str, stack: str) -> Case | str:
    """The case with the scheme the file's size supports: the labelled one when it
    reproduces the file (or the row gives no size), a ``by_size_schemes`` one, or the
    labelled one size-matched for a ``dynamic_mixes`` file (``mapping.yaml``); else why the row is unmapped."""
    case = _case(row, hw, model, scheme, stack)
    if isinstance(case, str) or row.gguf_bytes is None:
        return case
    ours = scheme_bytes(model, scheme)
    if abs(ours / row.gguf_bytes - 1) <= SIZE_TOLERANCE:
        return case
    names_of = load_mapping()
    alt = names_of.by_size_schemes.get((model, row.quant))
    if alt is not None and abs(scheme_bytes(model, alt) / row.gguf_bytes - 1) <= SIZE_TOLERANCE:
        return replace(case, scheme=alt, mapping=BY_SIZE,
                       note=BY_SIZE_WHY.format(scheme=alt, gib=scheme_bytes(model, alt) / 2**30))
    if row.model in names_of.dynamic_mixes:
        scale = row.gguf_bytes / ours
        return replace(case, mapping=SIZE_MATCHED, size_scale=scale,
                       note=(f"{names_of.dynamic_mixes[row.model]}: no scheme reproduces it; {scheme} "
                             f"({ours / 2**30:.2f} GiB) with every weight tensor x {scale:.3f} "
                             f"= the file's {row.gguf_bytes / 2**30:.2f} GiB"))
    return (f"scheme {scheme} on {model} gives {ours / 2**30:.2f} GiB but the file is "
            f"{row.gguf_bytes / 2**30:.2f} GiB (the file mixes formats differently from the scheme)")


def scheme_bytes(model: str, scheme: str) -> int:
    """Exact weight bytes of ``model`` under scheme ``scheme`` (a GGUF's tensor data)."""
    from simlow.specs import load_model, load_scheme
    from simlow.specs.scheme import weight_bytes

    return weight_bytes(load_model(model), load_scheme(scheme))



@dataclass(frozen=True)
class SizeMatchedScheme(Scheme):
    """A scheme with every weight tensor's bytes (blocks, per-row and per-tensor scales,
    norms and biases alike) multiplied by ``scale``: an approximation of a file whose
    per-tensor mix is unknown but whose total size is. Formats keep their names and compute
    formats, so a stack runs it exactly as the unscaled scheme; only the bytes moved
    change. The KV cache is not scaled."""

    scale: float = 1.0

    def tensor_format(self, model, t):
        f = Scheme.tensor_format(self, model, t)
        return replace(f, block_bytes=f.block_bytes * self.scale, row_bytes=f.row_bytes * self.scale,
                       tensor_bytes_fixed=f.tensor_bytes_fixed * self.scale)


def size_matched(scheme: Scheme, scale: float) -> SizeMatchedScheme:
    """``scheme`` with its weight bytes scaled by ``scale`` (> 0); see ``SizeMatchedScheme``."""
    if not scale > 0:
        raise SimlowError(f"size-match scale must be > 0, got {scale!r}")
    fields = {k: getattr(scheme, k) for k in Scheme.__dataclass_fields__}
    fields["name"] = f"{scheme.name}~x{scale:.3f}"
    return SizeMatchedScheme(**fields, scale=scale)


def case_scheme(case: Case):
    """What to predict a case with: its scheme's name, or for a SIZE_MATCHED case its
    scheme with every weight tensor's bytes scaled by ``case.size_scale``."""
    if case.mapping != SIZE_MATCHED:
        return case.scheme
    from simlow.specs import load_scheme

    return size_matched(load_scheme(case.scheme), case.size_scale)
