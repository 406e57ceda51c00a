"""QTensor: a quantized tensor (integer codes + scales + the format that reads them).

Layering: pure data; every quantizer returns one, ``Format.dequantize`` reads one.

Fields are plain arrays so that datapath models can compute on them directly:

* ``codes``: an integer JAX array with the tensor's shape (one code per element, never
  bit-packed); what a code means is stated in the format's docstring (e.g. Q4_0: int8
  ``q - 8`` in [-8, 7]; minifloats: uint8 bit patterns; PoT: int8 sign-magnitude shifts).
* ``scales``: the per-block/-row/-tensor scale as stored by the format (e.g. float16 ``d``
  for GGUF Q-types, uint8 E8M0 codes for MX), shaped like the blocks, or ``None``.
* ``aux``: further named arrays a format stores (minimums, zero points, rotations...).

``PackedQTensor`` is the same thing held as a format's byte layout (what the GGUF legacy
quantizers produce in one fused kernel): ``codes``, ``scales`` and ``aux`` are unpacked from
the bytes by the format's ``unpack`` on first access (exactly: unpacking is lossless).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Mapping

import jax

from simlow.errors import SimlowError


@dataclass(frozen=True)
class QTensor:
    codes: jax.Array
    scales: jax.Array | None
    format: Any  # a simlow.quant.formats.Format
    shape: tuple[int, ...]
    aux: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "aux", MappingProxyType(dict(self.aux)))

    def dequantize(self) -> jax.Array:
        """The float32 values the codes stand for (exactly as the format's reference)."""
        return self.format.dequantize(self)

    @property
    def bits_per_weight(self) -> float:
        """Storage bits per element (blocks only, as ``simlow.formats``; see the format)."""
        return self.format.bits_per_weight

    def to_bytes(self) -> bytes:
        """The format's byte layout (GGUF block bytes for GGUF formats)."""
        to_bytes = getattr(self.format, "to_bytes", None)
        if to_bytes is None:
            raise SimlowError(f"format {self.format.name!r} has no byte layout; "
                              "to_bytes() exists for GGUF formats")
        return to_bytes(self)


class PackedQTensor(QTensor):
    """A QTensor held as its byte layout ``packed`` ((n_blocks, type_size) uint8 array);
    ``codes``/``scales``/``aux`` are unpacked once, on first access, by ``format.unpack``."""

    def __init__(self, packed: jax.Array, format: Any, shape: tuple[int, ...]):
        object.__setattr__(self, "packed", packed)
        object.__setattr__(self, "format", format)
        object.__setattr__(self, "shape", tuple(shape))

    @cached_property
    def _unpacked(self) -> QTensor:
        return self.format.unpack(self.packed, self.shape)

    @property
    def codes(self) -> jax.Array:
        return self._unpacked.codes

    @property
    def scales(self) -> jax.Array | None:
        return self._unpacked.scales

    @property
    def aux(self) -> Mapping[str, Any]:
        return self._unpacked.aux
