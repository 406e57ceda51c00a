"""Bit-exact quantizers (JAX): tensors into codes and scales exactly as each format does.

Public API::

    q = quantize(x, "q4_0")        # -> QTensor (codes, scales, format, dequantize(), bits_per_weight)
    q.to_bytes(); from_bytes(buf, "q4_0", shape)     # GGUF block bytes
    FORMATS, get_format(name)
    enable_compile_cache(dir)      # opt-in: JAX's persistent compile cache for this process

Layering inside the package: ``numerics`` (format constants) -> ``minifloat`` (bit-level
casts) -> format modules (one family each) -> ``registry`` (names) -> this module.
Nothing here imports the performance model; ``simlow.formats`` (storage sizes) is read only
by the tests, which check that both agree.
"""

from __future__ import annotations

from simlow.quant._blocks import enable_compile_cache
from simlow.quant.qtensor import QTensor
from simlow.quant.registry import FORMATS, from_bytes, get_format, quantize

__all__ = ["FORMATS", "QTensor", "enable_compile_cache", "from_bytes", "get_format", "quantize"]
