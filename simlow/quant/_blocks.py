"""Feeding a whole tensor to one fused, jitted block quantizer without copying it.

Layering: used by the GGUF block formats; imports only JAX, NumPy and ``errors``.

Speed without changing bits:

* **Cheap input.** JAX on CPU aliases a NumPy float32 buffer whose address is 64-byte
  aligned (``jax.device_put`` takes 0.1 ms for 64 MB) and otherwise copies it through a
  slow path (35-80 ms for 64 MB here). NumPy's large arrays sit 16 bytes past a page
  boundary, so ``device_flat`` copies them once into an aligned NumPy buffer (about 7 ms)
  and aliases that. (Slicing an aligned body inside ``jit`` to skip the copy made XLA's
  kernel 4x slower, so it is not done.) The aliased input is only read, and callers wait
  for the results before returning, so mutating the array afterwards cannot race.
* **One fused kernel per format** (``run_blocked``), so nothing goes back to the host
  between stages; the finiteness check is a by-product of the block maxima.
* **FMA contraction** (bitexact-notes 0.1): XLA's LLVM backend fuses ``a*b + c`` into an FMA
  under jit. ``launder`` passes a product through an integer XOR with a zero the compiler
  cannot see (a runtime argument), so the later add receives an opaque value, not a product,
  and both roundings happen as in NumPy. (Barriers, ``reduce_precision`` and XOR with a
  *constant* zero are simplified away before LLVM and do not stop the fusion.)
* **Environment.** Results were checked equal under ``XLA_FLAGS`` fast-math switches
  (``--xla_cpu_enable_fast_math``, ``..._honor_nans/infs/functions=false``,
  ``--xla_cpu_enable_fast_min_max``, ``--xla_cpu_max_isa=AVX``,
  ``--xla_backend_optimization_level=0``); the one that changes bits,
  ``--xla_cpu_fast_math_honor_division=false`` with fast math, is detected
  (``division_is_exact``) and refused.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from simlow.errors import SimlowError

_ALIGN = 64


def launder(p: jax.Array, zero: jax.Array) -> jax.Array:
    """``p`` unchanged, hidden from FMA contraction (``zero`` must be a runtime uint32 0)."""
    return jax.lax.bitcast_convert_type(jax.lax.bitcast_convert_type(p, jnp.uint32) ^ zero, jnp.float32)


def _aligned_copy(flat: np.ndarray) -> np.ndarray:
    buf = np.empty(flat.nbytes + _ALIGN, np.uint8)
    off = (-buf.ctypes.data) % _ALIGN
    out = buf[off:off + flat.nbytes].view(np.float32)
    np.copyto(out, flat)
    return out


def device_flat(x: Any) -> jax.Array:
    """The float32 tensor on the device (NumPy input flattened), aliased (zero-copy) when its buffer is 64-byte
    aligned, else through one aligned host copy (far cheaper than JAX's own copy path)."""
    if isinstance(x, jax.Array):
        return x                    # reshaped inside the kernel's jit (an eager reshape copies)
    flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    if flat.ctypes.data % _ALIGN:
        flat = _aligned_copy(flat)
    return jax.device_put(flat)


@partial(jax.jit, static_argnums=(0, 1, 2))
def _apply(kernel: Callable, block: int, shape: tuple[int, ...], flat, zero, *args):
    out, flags = kernel(flat.reshape(-1, block), zero, *args)
    lead = shape[:-1] + (-1,)
    return tuple(o.reshape(shape if o.shape[-1] == block else lead) for o in out), flags


@lru_cache(maxsize=1)
def division_is_exact() -> bool:
    """Whether this process's XLA divides float32 correctly rounded inside ``jit``.

    It does by default. ``XLA_FLAGS=--xla_cpu_enable_fast_math=true
    --xla_cpu_fast_math_honor_division=false`` makes it approximate (found here: Q4_1
    bytes then differ from gguf), and no in-graph trick survives fast math, so the block
    quantizers check once per process and refuse rather than return wrong bits."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(4096).astype(np.float32)
    b = (rng.standard_normal(4096) * 10).astype(np.float32)
    f = jax.jit(lambda a, b: (jax.lax.div(a, jax.lax.optimization_barrier(b)),
                              jax.lax.div(a, jax.lax.optimization_barrier(jnp.full_like(a, 15.0)))))
    q, q15 = f(a, b)
    return bool(np.array_equal(np.asarray(q), a / b) and np.array_equal(np.asarray(q15), a / np.float32(15)))


def run_blocked(kernel: Callable, x: Any, block: int, *args):
    """Run ``kernel(blocks (n, block), zero, *args) -> (per-block arrays, scalar flags)`` on
    every block of ``x`` in one jitted call, and wait for it. Outputs of width ``block`` come
    back in ``x``'s shape, the others (one value per block) as ``x.shape[:-1] + (-1,)``.

    ``kernel`` must be the same object on every call (``jit`` caches on it)."""
    if not division_is_exact():
        raise SimlowError("XLA float32 division is not exact in this process (XLA_FLAGS has fast math "
                          "with --xla_cpu_fast_math_honor_division=false); bit-exact block quantizers "
                          "need it unset")
    if x.size == 0 or x.size % block:
        raise SimlowError(f"a block quantizer needs a non-empty tensor whose size is a multiple of {block}")
    return jax.block_until_ready(_apply(kernel, block, tuple(x.shape), device_flat(x), np.uint32(0), *args))
