"""A Hugging Face config's ``quantization_config`` as a ``Scheme``: the checkpoint sized as stored.

``hf_scheme(path)`` reads ``quantization_config`` (``None`` when the config has none):

- ``awq`` (AutoAWQ): ``bits``-bit codes, one fp16 scale per ``group_size`` input channels and,
  with ``zero_point`` (the default), one ``bits``-bit zero per group; embeddings and lm_head
  stay at the checkpoint's dtype (``torch_dtype``: float16, else bfloat16; both 2 bytes).
- ``gptq`` (AutoGPTQ / GPTQModel): the same layout; GPTQ always stores ``qzeros`` (``sym``
  only fixes their value), so zeros are counted either way. ``g_idx`` (one int32 per input
  channel and tensor, under 0.4% of a 4-bit 4096-wide tensor) is not counted: the notes say so.
- ``mxfp4`` (gpt-oss): MoE experts MXFP4 (32 x E2M1 + one E8M0 scale), the rest at the
  checkpoint dtype (the shipped ``mxfp4`` scheme).
- ``bitnet`` (BitNet b1.58): ternary weights packed 2 bits each with one scale per tensor (the
  shipped ``bitnet-w1.58a8`` scheme; its per-tensor scale is fp32, the checkpoint's bf16: 2
  bytes per tensor apart).
- ``fp8`` with a per-tensor scale: the shipped ``fp8`` scheme. Block-wise FP8
  (``weight_block_size``, DeepSeek-V3: one fp32 scale per 128 x 128 block) has a scale per
  tile of rows *and* columns, which a per-row storage format cannot state exactly: refused.

Any other ``quant_method`` is refused with the supported list and the way out (``--scheme``).
A group's bytes are ``(bits x group + 16 + zero bits) / 8``; the format's block is the
smallest whole number of groups that makes this whole (w4, group 128, zeros: 256 weights in
133 bytes, the shipped ``w4g128``).
"""

from __future__ import annotations

import math
from pathlib import Path
from types import MappingProxyType

from simlow import formats
from simlow.formats import StorageFormat
from simlow.specs.hf import load_config, need_int
from simlow.specs.scheme import Scheme, SchemeKind
from simlow.specs.yamlfile import Reader

METHODS = ("awq", "gptq", "mxfp4", "bitnet", "fp8")
_BITS = (2, 3, 4, 8)


def quant_method(path: Path | str) -> str | None:
    """The ``quant_method`` of the config's ``quantization_config`` (None: none or unreadable)."""
    q = load_config(path).get("quantization_config")
    method = q.get("quant_method") if isinstance(q, dict) else None
    return method if isinstance(method, str) else ("unnamed" if q is not None else None)


def hf_scheme(path: Path | str) -> tuple[Scheme | None, tuple[str, ...]]:
    """The scheme of the config's ``quantization_config`` and notes (None: not quantized)."""
    path = Path(path)
    data = load_config(path)
    if data.get("quantization_config") is None:
        return None, ()
    outer = Reader(data, str(path))
    r = outer.sub("quantization_config")
    if r.data.get("quant_method") is None:
        r.fail("missing required key", "quant_method")
    method = r.str("quant_method")
    dense = formats.get("f16" if data.get("torch_dtype", data.get("dtype")) == "float16" else "bf16")
    if method in ("awq", "gptq"):
        return _grouped(r, method, dense, path)
    if method in ("mxfp4", "bitnet", "fp8"):
        return _shipped(r, method, path)
    r.fail(f"{method!r} is not a quantization simlow can size (supported: {', '.join(METHODS)}); "
           "pass --scheme to size the model with a simlow scheme instead", "quant_method")
    raise AssertionError  # r.fail raises


def _grouped(r: Reader, method: str, dense: StorageFormat, path: Path) -> tuple[Scheme, tuple[str, ...]]:
    bits = need_int(r, "bits")
    if bits not in _BITS:
        r.fail(f"{bits} bits (sizable: {', '.join(map(str, _BITS))})", "bits")
    group = r.int("group_size", default=128)
    zeros = r.bool("zero_point", default=True) if method == "awq" else True
    if group == -1:
        r.fail("per-channel (-1) groups store a fraction of a byte of zero point per row, which simlow's "
               "storage formats cannot state exactly; give a group size", "group_size")
    if group < 1 or group % 8:
        r.fail(f"{group} is not a positive multiple of 8", "group_size")
    fmt = group_format(bits, group, zeros)
    notes = [f"weights sized as the config's quantization_config: {method} {bits}-bit, group {group}, "
             f"{'with' if zeros else 'without'} zero points ({fmt.bits_per_weight:.3f} bits per weight); "
             f"embeddings and lm_head {dense.name}"]
    if method == "gptq":
        notes.append("GPTQ's g_idx (one int32 per input channel of each quantized tensor) is not counted")
    skipped = [m for m in r.list("modules_to_not_convert", required=False) or [] if m not in ("lm_head",)]
    if skipped:
        notes.append(f"modules_to_not_convert {skipped[:4]} are sized as quantized")
    scheme = Scheme(name=f"{method}-{fmt.name}", title=f"{method.upper()} {bits}-bit group {group} ({path.name})",
                    kind=SchemeKind.WEIGHTS, weights=MappingProxyType({"default": fmt, "embedding": dense, "lm_head": dense}),
                    overrides=(), activations="fp16", kv_cache=formats.get("f16"), compute="fp16",
                    source=f"quantization_config of {path}", origin=str(path))
    return scheme, tuple(notes)


def group_format(bits: int, group: int, zeros: bool) -> StorageFormat:
    """``bits``-bit codes, an fp16 scale and (``zeros``) a ``bits``-bit zero per ``group`` weights."""
    group_bits = bits * group + 16 + (bits if zeros else 0)
    k = 8 // math.gcd(group_bits, 8)
    name = f"w{bits}g{group}" + ("" if zeros else "_sym")
    fmt = StorageFormat(name, group * k, group_bits * k // 8, "int8" if bits == 8 else "int4",
                        f"{bits}-bit codes, fp16 scale{f' and {bits}-bit zero' if zeros else ''} per group of {group}")
    known = formats.FORMATS.get(name)
    if known is not None and known.bits_per_weight == fmt.bits_per_weight and known.row_bytes == 0:
        return known
    return fmt


def _shipped(r: Reader, method: str, path: Path) -> tuple[Scheme, tuple[str, ...]]:
    from simlow.specs.registry import load_scheme

    if method == "fp8" and r.data.get("weight_block_size") is not None:
        r.fail("block-wise FP8 (one scale per block of rows and columns) cannot be sized exactly by simlow's "
               "per-row storage formats; pass --scheme fp8 for per-tensor-scale FP8", "weight_block_size")
    r.has("weight_block_size")
    name = {"mxfp4": "mxfp4", "bitnet": "bitnet-w1.58a8", "fp8": "fp8"}[method]
    scheme = load_scheme(name)
    return scheme, (f"weights sized as the config's quantization_config ({method}): scheme {name}, "
                    f"{scheme.title}",)
