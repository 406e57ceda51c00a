"""Feeding a tensor of any shape to a fixed set of compiled block kernels, without copying it.

Layering: used by the GGUF block formats; imports only JAX, NumPy and ``errors``.

Compile once. A jitted function compiles once per input shape, and an XLA compile of a
block kernel takes 0.4-1 s on this machine (more under load), against about 2 ms to run
it on one 2 MB chunk, so a model whose tensors come in many shapes would pay it per
shape. The runners here never hand a kernel the tensor's own shape: the tensor is
flattened to rows (one per block) and walked in chunks of exactly ``cap`` rows (about
2 MB of float32, ``_CHUNK``); the last chunk is padded by repeating its last real row
(so a pad row raises no flag a real row does not) and the pad is cut off the outputs. Each
kernel is therefore compiled once per process, whatever the shapes that come. (One size,
not a ladder of smaller ones: a second size is a second compile, which costs as much as a
few hundred padded chunks; a tensor smaller than a chunk pays about 2 ms of padding.)

Speed without changing bits (measured on a 2-core EPYC VM, XLA CPU 0.10.2):

* **No input copy where it can be avoided.** JAX on CPU aliases a NumPy buffer only if
  its address is 64-byte aligned, and copies it otherwise. A full chunk is passed as a
  view of the tensor (aliased when aligned; NumPy's large arrays start 16 bytes past a
  64-byte boundary, and those chunks are copied by JAX, about 0.3 ms each); only the
  padded last chunk is copied by hand, into an aligned buffer. Inside the jit a chunk
  arrives as a flat vector and is reshaped to blocks there: fed as (rows, block), XLA
  generates another reduction under fast-math flags, whose min picks the other zero
  sign for mixed +-0 blocks (Q4_1's m) and no longer matches gguf-py. Views are only
  read, and the runners wait for every result before returning, so mutating the array
  afterwards cannot race.
* **Chunks that stay in cache.** One chunk (2 MB) is read from memory once and the block
  reduction and the code pass run on it while it is in L2/L3. All chunks are dispatched
  before any result is read back, so XLA works while Python queues the next.
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
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from simlow.errors import SimlowError

_ALIGN = 64          # bytes: the alignment JAX's CPU client needs to alias a host buffer
_CHUNK = 1 << 19     # float32 elements per chunk (2 MB: the L2 size of this CPU)


def launder(p: jax.Array, zero: jax.Array) -> jax.Array:
    """``p`` unchanged, hidden from FMA contraction (``zero`` must be a runtime uint32 0)."""
    return jax.lax.bitcast_convert_type(jax.lax.bitcast_convert_type(p, jnp.uint32) ^ zero, jnp.float32)


def signed_extremes(blocks: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(max, min) of each row (keepdims) in one pass over the data (a two-output reduction:
    two single reductions read a large tensor twice)."""
    mx, mn = jax.lax.reduce((blocks, blocks), (jnp.float32(-jnp.inf), jnp.float32(jnp.inf)),
                            lambda a, b: (jnp.maximum(a[0], b[0]), jnp.minimum(a[1], b[1])), (1,))
    return mx[:, None], mn[:, None]


def chunk_rows(block: int) -> int:
    """The one row count a kernel is ever compiled for, for rows that each stand for one
    block of ``block`` weights: about ``_CHUNK`` weights."""
    return max(1, _CHUNK // block)


def plan(n: int, cap: int) -> list[tuple[int, int]]:
    """Chunks ``(lo, hi)`` of ``cap`` rows covering rows ``0..n-1`` (the last one shorter,
    to be padded)."""
    return [(lo, min(n, lo + cap)) for lo in range(0, n, cap)]


def _padded(rows: np.ndarray, size: int) -> np.ndarray:
    """``rows`` (k <= size rows) in a 64-byte-aligned buffer of ``size`` rows, the pad
    repeating the last row (so it raises no flag the real rows do not)."""
    width = int(np.prod(rows.shape[1:], dtype=np.int64)) * rows.itemsize
    buf = np.empty(size * width + _ALIGN, np.uint8)
    off = (-buf.ctypes.data) % _ALIGN
    out = buf[off:off + size * width].view(rows.dtype).reshape((size,) + rows.shape[1:])
    out[:len(rows)] = rows
    out[len(rows):] = rows[-1]
    return out


@partial(jax.jit, static_argnums=(0, 1))
def _block_chunk(kernel: Callable, block: int, flat, zero, *args):
    return kernel(flat.reshape(-1, block), zero, *args)


@partial(jax.jit, static_argnums=0)
def _row_chunk(kernel: Callable, zero, *arrays):
    return kernel(*arrays, zero)


def host_array(x: Any) -> np.ndarray:
    """``x`` (NumPy or JAX) as a NumPy array, without a copy where it can be had (a CPU JAX
    array's buffer is read in place)."""
    return np.asarray(x)


def to_device(a: np.ndarray) -> jax.Array:
    """A NumPy result as a JAX array: ``device_put`` (``jnp.asarray`` would compile a copy
    kernel per shape)."""
    return jax.device_put(a)


def run_blocked(kernel: Callable, x: Any, block: int, *args):
    """Run ``kernel(blocks (k, block), zero, *args) -> (per-block arrays, scalar flags)`` on
    every block of the float32 tensor ``x`` (NumPy or JAX), chunk by chunk (module
    docstring), and wait for it. Outputs come back as NumPy arrays, one row per block
    (``(n_blocks, ...)``); each flag is OR-ed over the chunks.

    ``kernel`` must be the same object on every call (``jit`` caches on it)."""
    if x.size == 0 or x.size % block or x.shape[-1] % block:
        raise SimlowError(f"a block quantizer needs a non-empty tensor whose last axis is a multiple of {block}")
    blocks = np.ascontiguousarray(host_array(x), dtype=np.float32).reshape(-1, block)
    return _run(lambda parts: _block_chunk(kernel, block, parts[0].reshape(-1), np.uint32(0), *args),
                (blocks,), block)


def run_rows(kernel: Callable, block: int, *arrays):
    """Run ``kernel(*row_chunks, zero) -> (per-row arrays, scalar flags)`` over arrays that
    share their first axis, one row per block of ``block`` weights (its codes, scale or
    bytes), in the same chunks as ``run_blocked``, and wait for it. Outputs come back as
    NumPy arrays of the real rows; flags OR-ed over the chunks.

    ``kernel`` must be the same object on every call (``jit`` caches on it)."""
    arrays = tuple(np.ascontiguousarray(host_array(a)) for a in arrays)
    return _run(lambda parts: _row_chunk(kernel, np.uint32(0), *parts), arrays, block)


def _run(call: Callable, arrays: tuple, block: int):
    """``call`` on every chunk of the rows of ``arrays`` (all dispatched before any is
    waited for), then the outputs cut to the real rows and joined, the flags OR-ed."""
    _check_division()
    n = arrays[0].shape[0]
    if n == 0:
        raise SimlowError("a block kernel needs at least one block")
    cap = chunk_rows(block)
    chunks = plan(n, cap)
    results = [call([a[lo:hi] if hi - lo == cap else _padded(a[lo:hi], cap) for a in arrays])
               for lo, hi in chunks]
    jax.block_until_ready(results)
    outs = []
    for j in range(len(results[0][0])):
        parts = [np.asarray(r[0][j])[:hi - lo] for r, (lo, hi) in zip(results, chunks)]
        outs.append(parts[0] if len(parts) == 1 else np.concatenate(parts))
    flags = tuple(any(bool(r[1][k]) for r in results) for k in range(len(results[0][1])))
    return tuple(outs), flags


def _check_division() -> None:
    if not division_is_exact():
        raise SimlowError("XLA float32 division is not exact in this process (XLA_FLAGS has fast math "
                          "with --xla_cpu_fast_math_honor_division=false); bit-exact block quantizers "
                          "need it unset")


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


def enable_compile_cache(directory: str | Path) -> Path:
    """Opt in to JAX's persistent compilation cache in ``directory`` (made if missing) for
    the rest of this process, and return its path. Off unless called; simlow never calls it.

    A later process that calls it with the same directory loads the block kernels' compiled
    code from there instead of running XLA (tracing and lowering are still paid: JAX keys the
    cache on the lowered module). It sets JAX's process-wide options (``jax_compilation_cache_dir``,
    and minimum compile time and entry size 0, since a kernel compiles in about 0.1 s, under
    JAX's default 1 s threshold), so every jit of the process is cached there, not only simlow's.
    The bits are the same: the cache holds the executable XLA would have built. As JAX warns,
    the directory is trusted code: never point it at one that others can write."""
    path = Path(directory).expanduser()
    if path.exists() and not path.is_dir():
        raise SimlowError(f"compile cache directory {path}: not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SimlowError(f"compile cache directory {path}: {exc.strerror or exc}") from None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
