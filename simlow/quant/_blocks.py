"""Feeding a whole tensor to one jitted block quantizer without copying it.

Layering: used by the GGUF block formats; imports only JAX, NumPy and ``errors``.

Speed without changing bits (measured on a 2-core EPYC VM, XLA CPU 0.10.2):

* **No input copy.** JAX on CPU aliases a NumPy float32 buffer only if its address is
  64-byte aligned; otherwise ``device_put`` copies it into a fresh XLA buffer (about 35 ms
  for 64 MB, mostly page faults: XLA's large allocations are not huge pages). NumPy's large
  arrays start 16 bytes past a 64-byte boundary, and every 32-element block then starts 16
  bytes past one too, so no aligned view holds whole blocks. ``host_view`` therefore aliases
  the aligned *body* of the buffer (it starts ``s`` elements in) and passes the first ``s``
  and last ``block - s`` elements as two tiny arrays; inside the jit, block ``b`` is the
  body slice ``[b*block - s, (b+1)*block - s)`` (blocks 0 and n-1 are stitched with the
  tiny arrays). The aliased body is only read, and ``run_blocked`` waits for the results
  before returning, so mutating the array afterwards cannot race.
* **Row chunks that stay in cache.** The jit walks the blocks in static chunks of about
  2 MB (``_CHUNK``): each chunk's slice is read from memory once and the block reduction
  and the code pass run on it while it is in L2/L3. One un-chunked slice of a 64 MB tensor
  would be materialised as a 64 MB XLA temporary (page faults again, 4x slower).
* **One fused kernel per format** (``run_blocked``): codes, scales and the packed GGUF
  bytes come out of the same jitted call, so nothing goes back to the host between stages;
  the finiteness check is a by-product of the block maxima.
* **FMA contraction** (measured, jax 0.10.2 on CPU): XLA's LLVM backend fuses ``a*b + c`` into an FMA
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

_ALIGN = 64          # bytes: the alignment JAX's CPU client needs to alias a host buffer
_CHUNK = 1 << 19     # float32 elements per in-kernel chunk (2 MB: the L2 size of this CPU)


def launder(p: jax.Array, zero: jax.Array) -> jax.Array:
    """``p`` unchanged, hidden from FMA contraction (``zero`` must be a runtime uint32 0)."""
    return jax.lax.bitcast_convert_type(jax.lax.bitcast_convert_type(p, jnp.uint32) ^ zero, jnp.float32)


def signed_extremes(blocks: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(max, min) of each row (keepdims) in one pass over the data (a two-output reduction:
    two single reductions read a large tensor twice)."""
    mx, mn = jax.lax.reduce((blocks, blocks), (jnp.float32(-jnp.inf), jnp.float32(jnp.inf)),
                            lambda a, b: (jnp.maximum(a[0], b[0]), jnp.minimum(a[1], b[1])), (1,))
    return mx[:, None], mn[:, None]


def _aligned_copy(flat: np.ndarray) -> np.ndarray:
    buf = np.empty(flat.nbytes + _ALIGN, np.uint8)
    off = (-buf.ctypes.data) % _ALIGN
    out = buf[off:off + flat.nbytes].view(np.float32)
    np.copyto(out, flat)
    return out


_EMPTY = np.zeros(0, np.float32)


def host_view(x: Any, block: int) -> tuple[int, np.ndarray, Any, np.ndarray]:
    """``(s, head, body, tail)``: the tensor as an aliased device body that starts ``s``
    elements in, at a 64-byte-aligned address, plus its first ``s`` and last ``block - s``
    elements (``s = 0``: the body is the whole tensor, head and tail are empty).

    A JAX array is used as it is (reshaped inside the jit: an eager reshape copies). A NumPy
    array whose address is not a multiple of 4, or that holds a single block, is copied once
    into an aligned buffer (rare or tiny)."""
    if isinstance(x, jax.Array):
        return 0, _EMPTY, x, _EMPTY
    flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    addr = flat.ctypes.data
    s = (-addr % _ALIGN) // 4
    if addr % 4 or s >= block or (s and flat.size < 2 * block):
        flat, s = _aligned_copy(flat), 0
    if s == 0:
        return 0, _EMPTY, jax.device_put(flat), _EMPTY
    end = flat.size - (block - s)
    return s, flat[:s].copy(), jax.device_put(flat[s:end]), flat[end:].copy()


def _natural_blocks(s: int, nb: int, block: int, lo: int, hi: int, head, body, tail) -> jax.Array:
    """Blocks ``lo..hi-1`` of the tensor as ``(hi - lo, block)``, from the body of
    ``host_view`` (body element ``i`` is tensor element ``i + s``)."""
    if s == 0:
        return jax.lax.slice(body, (lo * block,), (hi * block,)).reshape(-1, block)
    parts = []
    if lo == 0:
        parts.append(jnp.concatenate([head, body[:block - s]])[None])
        lo = 1
    last = hi == nb
    hi = nb - 1 if last else hi
    if hi > lo:
        parts.append(jax.lax.slice(body, (lo * block - s,), (hi * block - s,)).reshape(-1, block))
    if last:
        parts.append(jnp.concatenate([body[body.shape[0] - s:], tail])[None])
    return parts[0] if len(parts) == 1 else jnp.concatenate(parts)


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _apply(kernel: Callable, block: int, shape: tuple[int, ...], s: int, head, body, tail, zero, *args):
    nb = int(np.prod(shape)) // block
    body = body.reshape(-1)
    per = -(-nb // -(-nb * block // _CHUNK))       # blocks per chunk, chunks of <= _CHUNK elements
    outs, flags = [], []
    for lo in range(0, nb, per):
        out, flag = kernel(_natural_blocks(s, nb, block, lo, min(nb, lo + per), head, body, tail), zero, *args)
        outs.append(out)
        flags.append(flag)
    lead = shape[:-1] + (-1,)
    whole = [o[0] if len(outs) == 1 else jnp.concatenate(o) for o in zip(*outs)]
    return (tuple(o.reshape(shape if o.shape[-1] == block else lead) for o in whole),
            tuple(jnp.stack(f).any() for f in zip(*flags)))


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
    every block of ``x`` in one jitted call (chunk by chunk inside it), and wait for it.
    Outputs of width ``block`` come back in ``x``'s shape, the others (a fixed number of
    values per block) as ``x.shape[:-1] + (-1,)``; each flag is OR-ed over the chunks.

    ``kernel`` must be the same object on every call (``jit`` caches on it)."""
    if not division_is_exact():
        raise SimlowError("XLA float32 division is not exact in this process (XLA_FLAGS has fast math "
                          "with --xla_cpu_fast_math_honor_division=false); bit-exact block quantizers "
                          "need it unset")
    if x.size == 0 or x.size % block or x.shape[-1] % block:
        raise SimlowError(f"a block quantizer needs a non-empty tensor whose last axis is a multiple of {block}")
    s, head, body, tail = host_view(x, block)
    return jax.block_until_ready(_apply(kernel, block, tuple(x.shape), s, head, body, tail, np.uint32(0), *args))
