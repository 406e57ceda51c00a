"""The time of one forward step of a mixed batch, from simlow's op graph and stack.

A serving step runs ``parts``: request ``i`` adds ``n_i`` new tokens on top of ``L_i``
tokens already in its KV cache (a decode is ``n_i = 1``, a prefill chunk ``n_i > 1``).
The op templates (``simlow.workload.templates.templates``) split three ways by the features
their coefficients use:

* **dense** ops (projections, FFN, experts, norms, embedding; features ``one``, ``tokens``,
  ``experts``) see the batch's total token count ``T = sum n_i``: their roofline time
  (``simlow.sim.roofline.step`` at batch 1, ``T`` tokens, including GEMM tile padding and
  MoE distinct experts for ``T`` routed tokens) is tabulated once for every ``T`` up to
  the largest step;
* **head** ops (``seqs``: output norm, lm_head) see one row per request part (vLLM v1
  computes logits at the last position of every scheduled request); tabulated over parts;
* **attention** ops (``pairs``, ``cached``) run per request at its own context:
  ``sum_i max(t_compute_i, t_memory_i)`` over the parts, plus the op's kernel launches once
  per step (one varlen attention call for the batch). The templates are linear in their
  features, so each attention op's compute, memory, flop and byte terms are taken from
  ``simlow.sim.roofline.op_terms`` at unit features once and scaled per part.

Plus the stack's ``step_overhead`` per forward step. With one part this is exactly
``roofline.step`` of the same phase (tested against ``simlow.predict``), so nothing here
is a separate latency formula; every efficiency is the stack's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from simlow.errors import SimlowError
from simlow.sim import roofline
from simlow.workload.features import attended_pairs
from simlow.workload.op import FEATURES, OpTemplate

_ATTN = ("pairs", "cached")


def _features_of(t: OpTemplate) -> set[str]:
    return {f for coefs in t.coef.values() for f in coefs}


@dataclass(frozen=True)
class _Attention:
    """One attention template's terms per unit of each feature it uses: ``c_*`` compute
    seconds, ``m_*`` memory seconds, ``b_*`` bytes, ``f_*`` ops, ``i_*`` seconds at 100% of
    peak compute."""
    window: int | None
    repeat: int
    launch_s: float
    c_pairs: float = 0.0
    c_tokens: float = 0.0
    c_cached: float = 0.0
    m_pairs: float = 0.0
    m_tokens: float = 0.0
    m_cached: float = 0.0
    b_pairs: float = 0.0
    b_tokens: float = 0.0
    b_cached: float = 0.0
    f_pairs: float = 0.0
    f_tokens: float = 0.0
    f_cached: float = 0.0
    i_pairs: float = 0.0
    i_tokens: float = 0.0
    i_cached: float = 0.0

    comp_terms: tuple = ()   # (feature, seconds per unit) of the compute time, zero terms left out
    mem_terms: tuple = ()    # the same for the memory time

    def __post_init__(self):
        # a decode part has pairs = cached: the per-unit sums ``decode_steps`` scales by
        for x in "cmbfi":
            object.__setattr__(self, f"{x}_unit", getattr(self, f"{x}_pairs") + getattr(self, f"{x}_cached"))


_sum = np.add.reduce      # ``ndarray.sum`` without its Python wrapper (the same reduction)


def _linear(terms: tuple, f: dict):
    """``sum(coef * f[feature])`` over the non-zero terms (0.0 when there are none)."""
    if not terms:
        return 0.0
    (feature, coef), *rest = terms
    out = coef * f[feature]          # = 0.0 + coef * f (the terms are >= 0)
    for feature, coef in rest:
        out = out + coef * f[feature]
    return out


@dataclass(frozen=True)
class StepCost:
    """Tabulated dense/head terms and per-unit attention terms of one model on one machine.

    Index ``[k]`` of a ``dense_*`` array is ``T = k`` tokens; of a ``head_*`` array ``k``
    request parts. Each tuple holds (seconds, at-peak compute s, ops, bytes): what a step
    takes, needs at 100% of peak compute, computes and moves (the last two price its energy)."""

    dense: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    head: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    attention: tuple[_Attention, ...]
    step_overhead_s: float

    def __post_init__(self):
        # Python lists for the scalar look-ups of ``step`` (NumPy scalar indexing is slower)
        object.__setattr__(self, "dense_list", tuple(x.tolist() for x in self.dense))
        object.__setattr__(self, "head_list", tuple(x.tolist() for x in self.head))

    @property
    def max_tokens(self) -> int:
        return len(self.dense[0]) - 1

    @property
    def max_parts(self) -> int:
        return len(self.head[0]) - 1

    def step(self, n: np.ndarray, L: np.ndarray, T: int | None = None) -> tuple[float, float, float, float]:
        """(seconds, at-peak compute s, ops, bytes) of one forward step whose
        parts add ``n`` tokens on ``L`` cached tokens each (int arrays, ``n >= 1``; ``T``:
        ``sum(n)`` when the caller has it).

        Only the attention op's ``max(compute, memory)`` needs the parts one by one; every
        other term is linear in the features, so their sums suffice."""
        T, S = (int(_sum(n)) if T is None else T), len(n)
        if T > self.max_tokens or S > self.max_parts:
            raise SimlowError(f"step of {T} tokens / {S} requests exceeds the tabulated "
                              f"{self.max_tokens} / {self.max_parts}")
        d, h = self.dense_list, self.head_list
        t = d[0][T] + h[0][S] + self.step_overhead_s
        ic, fl, nb = d[1][T] + h[1][S], d[2][T] + h[2][S], d[3][T] + h[3][S]
        for a in self.attention:
            if a.window is None:
                pairs = n * (L + 0.5 * (n + 1))
                cached = n + L
            else:
                pairs = attended_pairs(1.0, n, L, a.window)
                cached = np.minimum(L + n, a.window)
            f = {"pairs": pairs, "tokens": n, "cached": cached}
            comp = _linear(a.comp_terms, f)
            mem = _linear(a.mem_terms, f)
            sp, sc = float(_sum(pairs)), float(_sum(cached))
            t += a.repeat * (float(_sum(np.maximum(comp, mem))) + a.launch_s)
            by = a.repeat * (a.b_pairs * sp + a.b_tokens * T + a.b_cached * sc)
            ic += a.repeat * (a.i_pairs * sp + a.i_tokens * T + a.i_cached * sc)
            fl += a.repeat * (a.f_pairs * sp + a.f_tokens * T + a.f_cached * sc)
            nb += by
        return float(t), float(ic), float(fl), float(nb)


    def min_step_s(self, parts: int) -> float:
        """A lower bound on a decode step of ``parts`` requests (all but attention)."""
        return float(self.dense[0][parts] + self.head[0][parts] + self.step_overhead_s)

    def decode_steps(self, L: np.ndarray, k: int, alive: np.ndarray | None = None):
        """The next ``k`` steps of a decode-only batch whose requests hold ``L`` cached
        tokens at the first: (array of shape (4, k) with each step's columns as ``step``
        returns them, requests per step). ``alive[j, i]`` (optional) says whether request
        ``i`` is still in the batch at step ``j``. Equal to ``k`` calls of ``step`` with
        ``n = 1`` and contexts ``L, L + 1, ...`` of the requests alive."""
        S = len(L)
        out = np.empty((4, k))
        if alive is None:
            sizes = np.full(k, S)
            d, h = self.dense_list, self.head_list
            out[0] = d[0][S] + h[0][S] + self.step_overhead_s
            out[1], out[2], out[3] = d[1][S] + h[1][S], d[2][S] + h[2][S], d[3][S] + h[3][S]
        else:
            sizes = _sum(alive, axis=1)
            d, h = self.dense, self.head
            out[0] = d[0][sizes] + h[0][sizes] + self.step_overhead_s
            out[1], out[2], out[3] = d[1][sizes] + h[1][sizes], d[2][sizes] + h[2][sizes], d[3][sizes] + h[3][sizes]
        ctx = L + 1.0 + np.arange(k)[:, None]                  # n = 1: pairs = cached = L + 1 + step
        per = S if alive is None else sizes           # requests per step (a scalar when constant)
        for a in self.attention:
            c = ctx if a.window is None else np.minimum(ctx, a.window)
            if alive is not None:
                c = np.where(alive, c, 0.0)
            comp = a.c_unit * c
            if a.c_tokens:                 # (x + 0.0 is x: the term is left out when zero)
                comp += a.c_tokens
            mem = a.m_unit * c + a.m_tokens
            top = np.maximum(comp, mem, out=comp)
            if alive is not None:
                top = np.where(alive, top, 0.0)
            sc = _sum(c, axis=1)
            out[0] += a.repeat * (_sum(top, axis=1) + a.launch_s)
            by = a.repeat * (a.b_unit * sc + a.b_tokens * per)
            out[1] += a.repeat * (a.i_unit * sc + a.i_tokens * per)
            out[2] += a.repeat * (a.f_unit * sc + a.f_tokens * per)
            out[3] += by
        return out, sizes


def _table(temps, mach, n: int, batch_axis: bool, distinct):
    if not temps:
        return tuple(np.zeros(n + 1) for _ in range(4))
    k = np.arange(n + 1, dtype=np.float64)
    if batch_axis:
        st = roofline.step(temps, mach, np.maximum(k, 1.0), 1, 0)
    else:
        st = roofline.step(temps, mach, 1, np.maximum(k, 1.0), 0, distinct(np.maximum(k, 1.0)))
    out = tuple(np.array(np.broadcast_to(x, k.shape), dtype=np.float64)
                for x in (st.total_s, st.at_peak_compute_s, st.flops, st.bytes))
    for x in out:
        x[0] = 0.0
    return out


def _attention(t: OpTemplate, mach) -> _Attention:
    used = _features_of(t)
    extra = used - {"pairs", "tokens", "cached"}
    if extra:
        raise SimlowError(f"attention op {t.name} uses features {sorted(extra)} the serving step cost "
                          "does not split per request")
    peak = float(np.asarray(mach.peak_for(t), dtype=np.float64))
    terms = {}
    for f in ("pairs", "tokens", "cached"):
        unit = {g: np.float64(1.0 if g == f else 0.0) for g in FEATURES}
        fl, by, tc, tm = (float(x) for x in roofline.op_terms(t, unit, mach))
        terms.update({f"c_{f}": tc, f"m_{f}": tm, f"b_{f}": by, f"f_{f}": fl,
                      f"i_{f}": fl / peak if peak > 0 else 0.0})
    comp = tuple((f, terms[f"c_{f}"]) for f in ("pairs", "tokens", "cached") if terms[f"c_{f}"])
    mem = tuple((f, terms[f"m_{f}"]) for f in ("pairs", "tokens", "cached") if terms[f"m_{f}"])
    return _Attention(t.window, t.repeat, t.kernels * float(mach.kernel_overhead_s), **terms,
                      comp_terms=comp, mem_terms=mem)


def step_cost(temps: tuple[OpTemplate, ...], mach, max_tokens: int, max_parts: int, distinct=None,
              host=None) -> StepCost:
    """Precompute the step cost of ``temps`` on ``mach`` for steps of at most ``max_tokens``
    tokens and ``max_parts`` requests; ``distinct(T)`` is E[distinct experts] for ``T``
    routed tokens (MoE models; None for dense ones). ``host`` (``ServingOverheads``, or None):
    the serving engine's host time per step and per request part, added to the machine's
    ``step_overhead`` and to the head table (both serial with the forward pass)."""
    dense, head, attn = [], [], []
    for t in temps:
        used = _features_of(t)
        if used & set(_ATTN):
            attn.append(t)
        elif "seqs" in used:
            if "tokens" in used:
                raise SimlowError(f"op {t.name} uses both tokens and seqs; the serving step cost cannot split it")
            head.append(t)
        else:
            dense.append(t)
    bare = replace(mach, step_overhead_s=0.0)
    if distinct is None:
        def distinct(k):
            return None
    head_t = _table(tuple(head), bare, max_parts, True, None)
    step_s = float(mach.step_overhead_s)
    if host is not None:
        head_t[0][1:] += host.part_s * np.arange(1, max_parts + 1)
        step_s += host.step_s
    return StepCost(_table(tuple(dense), bare, max_tokens, False, distinct), head_t,
                    tuple(_attention(t, bare) for t in attn), step_s)
