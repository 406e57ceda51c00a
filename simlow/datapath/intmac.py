"""Integer MAC array / tensor core (``IntMacUnit``): bit-exact output and event counts.

Semantics, per output (m, n): products ``a[m,k] * w[k,n]`` are exact; consecutive batches
of ``step_k`` products (in K order, the last batch may be shorter) are summed exactly and
added into the ``acc_bits`` accumulator under the unit's overflow policy
(``simlow.datapath.accumulate``). Without scales the output is the accumulator (int32 when
``acc_bits <= 32``, else int64).

Block-scaled epilogue: with ``a_scale`` (M, G) and ``w_scale`` (G, N) float32, K splits
into G equal groups; each group runs its own accumulator from 0 and the float32 output is
``y = t_0 + t_1 + ...`` (fp32, RNE, group order) with
``t_g = (fp32(acc_g) * a_scale[m,g]) * w_scale[g,n]`` (each fp32 RNE).

Fast path: when ``K * max|a| * max|w|`` (or, failing that, the exact ``|a| @ |w|``) fits in
the accumulator, no step can overflow, every policy gives the exact sum, and it is computed
by ``simlow.datapath.exact.int_matmul``. Otherwise the K steps run one by one.

Counts (per ``simlow.events``): INT_MUL(a_bits, w_bits) per product performed; SKIP for
products gated by a zero operand (``skip_zeros`` only); INT_ADD(acc_bits) per product added
(the k-step adder tree is counted at accumulator width, an assumption); REG_WRITE(acc_bits)
per k-step per output; OVERFLOW / SATURATE(acc_bits) events; FP_MUL / FP_ADD(fp32) for the
epilogue. Conservation: INT_MUL + SKIP = M*N*K = INT_ADD + SKIP.
"""

from __future__ import annotations

import numpy as np

from simlow.datapath import accumulate as accm
from simlow.datapath.codes import int_codes, matmul_shapes, nonzero_products
from simlow.datapath.exact import abs_bound_matmul, int_matmul, max_abs
from simlow.datapath.configs import IntMacUnit, Overflow
from simlow.errors import SimlowError
from simlow.events import Event, Op


def int_accumulate(a: np.ndarray, w: np.ndarray, bits: int, policy: Overflow,
                   step: int) -> accm.AccResult:
    """Accumulate ``a @ w`` in ``step``-product batches into a ``bits``-bit accumulator."""
    k = a.shape[1]
    if accm.fits(k * max_abs(a) * max_abs(w), bits) or policy is Overflow.SATURATE_AT_END:
        return accm.accumulate([int_matmul(a, w)], bits, policy)
    if accm.fits(int(abs_bound_matmul(a, w).max()), bits):
        return accm.AccResult(int_matmul(a, w), 0, 0)
    parts = (int_matmul(a[:, k0:k0 + step], w[k0:k0 + step]) for k0 in range(0, k, step))
    return accm.accumulate(parts, bits, policy)


def _epilogue(accs: list[np.ndarray], a_scale, w_scale) -> np.ndarray:
    y = None
    for g, acc in enumerate(accs):
        t = (acc.astype(np.float32) * a_scale[:, g:g + 1]) * w_scale[g:g + 1, :]
        y = t if y is None else y + t
    return y


def _scales(a_scale, w_scale, m: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray, int]:
    sa, sw = np.asarray(a_scale, dtype=np.float32), np.asarray(w_scale, dtype=np.float32)
    if sa.ndim != 2 or sw.ndim != 2 or sa.shape[0] != m or sw.shape[1] != n or sa.shape[1] != sw.shape[0]:
        raise SimlowError(f"scales must be a_scale (M, G) and w_scale (G, N) with M={m}, N={n}; "
                          f"got {sa.shape} and {sw.shape}")
    groups = sa.shape[1]
    if groups == 0 or k % groups:
        raise SimlowError(f"K={k} must split into G={groups} equal scale groups")
    return sa, sw, groups


def run(unit: IntMacUnit, a, w, a_scale=None, w_scale=None) -> tuple[np.ndarray, dict[Event, int]]:
    """Bit-exact output of ``unit`` on codes ``a`` (M, K) and ``w`` (K, N), and its event counts."""
    a = int_codes(a, unit.a_bits, "a")
    w = int_codes(w, unit.w_bits, "w")
    matmul_shapes(a, w.shape[0])
    (m, k), n = a.shape, w.shape[1]
    if (a_scale is None) != (w_scale is None):
        raise SimlowError("give both a_scale and w_scale, or neither")
    groups = 1
    if a_scale is not None:
        a_scale, w_scale, groups = _scales(a_scale, w_scale, m, n, k)
    kg = k // groups
    results = [int_accumulate(a[:, g * kg:(g + 1) * kg], w[g * kg:(g + 1) * kg],
                              unit.acc_bits, unit.overflow, unit.step_k) for g in range(groups)]
    if a_scale is None:
        y = results[0].value.astype(np.int32 if unit.acc_bits <= 32 else np.int64)
    else:
        y = _epilogue([r.value for r in results], a_scale, w_scale)
    return y, _counts(unit, a, w, groups, results, scaled=a_scale is not None)


def _counts(unit: IntMacUnit, a, w, groups: int, results, scaled: bool) -> dict[Event, int]:
    (m, k), n = a.shape, w.shape[1]
    presented = m * n * k
    done = nonzero_products(a, w) if unit.skip_zeros else presented
    steps = groups * -(-(k // groups) // unit.step_k)
    acc = unit.acc_bits
    counts = {
        Event(Op.INT_MUL, unit.a_bits, unit.w_bits): done,
        Event(Op.SKIP, unit.a_bits, unit.w_bits): presented - done,
        Event(Op.INT_ADD, acc): done,
        Event(Op.REG_WRITE, acc): m * n * steps,
        Event(Op.OVERFLOW, acc): sum(r.overflows for r in results),
        Event(Op.SATURATE, acc): sum(r.saturations for r in results),
    }
    if scaled:
        counts[Event(Op.FP_MUL, fmt="fp32")] = 2 * m * n * groups
        counts[Event(Op.FP_ADD, fmt="fp32")] = m * n * (groups - 1)
    return {e: c for e, c in counts.items() if c}
