"""The one explicit registry of named formats, and the public entry points.

Every format has a name here; ``quantize`` accepts a name or a format object (for formats
with parameters, e.g. ``UniformInt(bits=3, group=64)`` or a fitted OffQ). Nothing else in
the package looks formats up by string.
"""

from __future__ import annotations

from typing import Any

from simlow.errors import SimlowError, unknown_name
from simlow.quant import (bitnet, casts, gguf_legacy, gguf_mxfp4, gguf_ternary, kivi, kquants, kv_blocks, mx,
                          pot, turboquant, uniform)
from simlow.quant.base import Format
from simlow.quant.qtensor import QTensor

_ALL: list[Any] = [
    gguf_legacy.Q4_0, gguf_legacy.Q4_1, gguf_legacy.Q5_0, gguf_legacy.Q5_1, gguf_legacy.Q8_0,
    gguf_ternary.TQ1_0, gguf_ternary.TQ2_0, gguf_mxfp4.MXFP4,
    kquants.Q2_K, kquants.Q3_K, kquants.Q4_K, kquants.Q5_K, kquants.Q6_K,
    casts.FP8_E4M3, casts.FP8_E5M2, casts.FP6_E3M2, casts.FP6_E2M3, casts.FP4_E2M1,
    mx.MXFP8_E4M3, mx.MXFP8_E5M2, mx.MXFP6_E3M2, mx.MXFP6_E2M3, mx.MXFP4_OCP, mx.MXINT8, mx.NVFP4,
    bitnet.BITNET_W, bitnet.BITNET_A8, *pot.POT, *pot.APOT, *pot.ORP,
    *uniform.UNIFORM,
    *turboquant.TURBO, *turboquant.TURBO_IP, *kivi.KIVI, kv_blocks.KV_Q8_0, kv_blocks.KV_Q4_0,
]

FORMATS: dict[str, Format] = {f.name: f for f in _ALL}
assert len(FORMATS) == len(_ALL), "duplicate format name"
# Conventional second names, each pointing at one registered format.
ALIASES: dict[str, str] = {**uniform.ALIASES}


def get_format(fmt: str | Format) -> Format:
    """The format called ``fmt`` (case-insensitive), or ``fmt`` itself if it is a format."""
    if not isinstance(fmt, str):
        return fmt
    key = ALIASES.get(fmt.lower(), fmt.lower())
    if key not in FORMATS:
        raise unknown_name("quant format", fmt, sorted(FORMATS) + sorted(ALIASES))
    return FORMATS[key]


def quantize(x: Any, fmt: str | Format) -> QTensor:
    """Quantize ``x`` (float32; float64 is rounded to float32 first) into ``fmt``."""
    return get_format(fmt).quantize(x)


def from_bytes(buf: Any, fmt: str | Format, shape) -> QTensor:
    """Read GGUF block bytes of a tensor of ``shape`` back into a QTensor."""
    f = get_format(fmt)
    if not hasattr(f, "from_bytes"):
        raise SimlowError(f"format {f.name!r} has no byte layout; from_bytes exists for GGUF formats")
    return f.from_bytes(buf, shape)
