"""The one interface every number format implements, and checks shared at the boundary.

Layering: imported by every format module; imports nothing from them.

A format is a frozen dataclass with:

* ``name`` (its registry name), ``bits_per_weight`` (storage bits per element counting the
  blocks and per-group scales, but not per-row or per-tensor scales, the same convention as
  ``simlow.formats.StorageFormat.bits_per_weight``) and ``storage`` (the matching
  ``simlow.formats`` entry, or ``None``);
* ``quantize(x) -> QTensor`` and ``dequantize(q) -> float32 array``.

GGUF formats add ``gguf_type``, ``to_bytes(q)`` and ``from_bytes(buf, shape)``.
"""

from __future__ import annotations

from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from simlow.errors import SimlowError
from simlow.quant.qtensor import QTensor


class GgufSized:
    """Sizes of a GGUF block type, from gguf's own table.

    Mixed into the frozen GGUF format dataclasses, which define ``name``, ``gguf_type``
    (a ``GGMLQuantizationType`` number) and ``block`` (weights per block)."""

    @property
    def storage(self) -> str:
        return self.name  # type: ignore[attr-defined]

    @property
    def type_size(self) -> int:
        """Bytes of one block."""
        return GGML_QUANT_SIZES[GGMLQuantizationType(self.gguf_type)][1]  # type: ignore[attr-defined]

    @property
    def bits_per_weight(self) -> float:
        return self.type_size * 8 / self.block  # type: ignore[attr-defined]


class Format(Protocol):
    name: str
    storage: str | None

    @property
    def bits_per_weight(self) -> float: ...

    def quantize(self, x: Any) -> QTensor: ...

    def dequantize(self, q: QTensor) -> jax.Array: ...


def as_input(x: Any, name: str, *, finite: bool = True) -> jax.Array:
    """``x`` as a float32 JAX array (cast from float32 only: float64 is rounded once first).

    Block formats need finite input: a NaN or inf would poison a whole block's scale, and
    the references (gguf, ml_dtypes-based MX) give no defined answer for it.
    """
    if isinstance(x, np.ndarray) and x.dtype != np.float32:
        x = x.astype(np.float32)
    arr = jnp.asarray(x, dtype=jnp.float32)
    if arr.ndim == 0:
        raise SimlowError(f"{name}: expected an array with at least one axis, got a scalar")
    if finite and not bool(jnp.isfinite(arr).all()):
        raise SimlowError(f"{name}: input has NaN or inf; block formats need finite values")
    return arr


def as_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a float32 NumPy array with at least one axis (no copy if it already is a
    float32 NumPy array or a float32 JAX array on the CPU, whose buffer is read in place;
    no eager JAX op either, which would compile per shape); finiteness is left to the
    caller's kernel."""
    arr = np.asarray(x)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    if arr.ndim == 0:
        raise SimlowError(f"{name}: expected an array with at least one axis, got a scalar")
    return arr


def blocks_of(x: jax.Array, block: int, name: str) -> jax.Array:
    """``x`` as rows of ``block`` consecutive elements along the last axis."""
    if x.shape[-1] % block:
        raise SimlowError(f"{name}: last axis {x.shape[-1]} is not a multiple of the block "
                          f"size {block}")
    return x.reshape(-1, block)


def check_shape(shape, block: int, name: str) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if not shape or shape[-1] % block:
        raise SimlowError(f"{name}: shape {shape} must end in a multiple of the block size {block}")
    return shape


def raw_blocks(buf, shape: tuple[int, ...], block: int, type_size: int, name: str) -> np.ndarray:
    """Bytes of a GGUF tensor as a (n_blocks, type_size) uint8 array, size-checked."""
    data = np.frombuffer(bytes(buf), dtype=np.uint8) if not isinstance(buf, np.ndarray) \
        else np.ascontiguousarray(buf).view(np.uint8).reshape(-1)
    n_blocks = int(np.prod(shape)) // block
    if data.size != n_blocks * type_size:
        raise SimlowError(f"{name}: {data.size} bytes do not hold shape {shape} "
                          f"({n_blocks} blocks x {type_size} bytes)")
    return data.reshape(n_blocks, type_size)


def f16_bytes(d: jax.Array) -> jax.Array:
    """float16 array (n, 1) -> its little-endian bytes (n, 2) as uint8."""
    return jax.lax.bitcast_convert_type(d.astype(jnp.float16), jnp.uint8).reshape(d.shape[0], -1)


def f16_from(raw: np.ndarray) -> jax.Array:
    """(n, 2) little-endian bytes -> float16 (n, 1)."""
    return jnp.asarray(np.ascontiguousarray(raw).view(np.float16).reshape(-1, 1))
