"""``predict``: tokens per second, time to first token, joules per token, fit and bound.

The roofline fidelity runs the op graph's templates through ``roofline.step`` for every
prefill micro-batch (``stack.ubatch`` prompt tokens each) and every decode step at once
(NumPy arrays over steps), so a 1,024-token generation costs one evaluation.

``fidelity="des"`` hands a ``Request`` (every input resolved to specs) to
``simlow.sim.des.predict_des(request) -> Prediction`` when that module exists.

Energy (``simlow.sim.energy``): the power model of ``simlow.sim.power`` (static power,
DRAM, on-chip and compute energy of each step, throttled under the TDP cap). Memory and fit come from ``simlow.memory.footprint``. The roofline
does not model offload: a model that does not fit gets ``fits=False`` with its shortfall
and the speed it would have if it did (said in ``notes``).
"""

from __future__ import annotations

import numpy as np

from simlow.errors import SimlowError
from simlow.workload.templates import templates
from simlow.memory import footprint, resolve_scheme
from simlow.quantities import fmt_bytes
from simlow.sim import energy, roofline
from simlow.sim.machine import machine, pick_engine
from simlow.sim.offload_spec import offload_from
from simlow.sim.parallel import (comm_note, comm_op, group_energy, group_machine, group_memory, parallel_from,
                                 peer_link, phases_with_comm)
from simlow.sim.pipeline import pipeline_phases
from simlow.sim.rowsplit import row_phases
from simlow.sim.request import Request
from simlow.sim.phases import _timeline, decode_times, make_prediction, prefill_times
from simlow.sim.results import Fidelity, Prediction
from simlow.workload.routing import Uniform
from simlow.sim.stack_load import load_stack
from simlow.specs import HardwareSpec, load_hw, load_model, load_scheme
from simlow.specs.hardware import EngineKind

# The stack of an engine whose spec names none (a user's spec, a simlow NPU design): the
# engine kind's roofline bound, or llama.cpp on a CPU.
KIND_DEFAULT_STACKS = {EngineKind.GPU: "ideal", EngineKind.NPU: "ideal-npu", EngineKind.CPU: "llama.cpp-cpu"}


def default_stack(hw: HardwareSpec, engine: str | None = None) -> str:
    """The stack a prediction uses when none is given, for the engine it runs on (the
    engine named, else the device's primary, first listed, engine): the engine's
    ``default_stack`` in its hardware spec, else ``KIND_DEFAULT_STACKS`` by engine kind.

    So ``predict(m, "edge-npu-28nm")`` runs ``ideal-npu``, ``predict(m, "strix-halo")`` runs
    ``llama.cpp-rocm`` on the GPU and ``predict(m, "strix-halo", engine="npu")`` runs
    ``fastflowlm`` on the NPU, as ``hwspecs/strix-halo.yaml`` says."""
    e = hw.engine(engine) if engine is not None else hw.primary
    return e.default_stack or KIND_DEFAULT_STACKS[e.kind]


def _whole(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SimlowError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def resolve(model, hw, scheme=None, batch=1, prompt=512, gen=128, ctx=None, kv_scheme=None,
            stack=None, engine=None, depth=0, routing=None, ubatch=None, offload=None, prefetch=0,
            background=(), tp=1, split=None, link="nvlink", pp=1) -> Request:
    """Load and check every input (bad settings raise ``SimlowError``).

    ``scheme`` None: a ``.gguf`` model runs with its own tensor types, others with q4_0.
    ``tp`` / ``pp`` / ``split`` / ``link``: several devices (``simlow.sim.parallel.parallel_from``)."""
    par = parallel_from(tp, split, link, pp)
    m, h = load_model(model), load_hw(hw)
    s, scheme_notes = resolve_scheme(m, scheme)
    if kv_scheme is not None:
        s = s.with_kv(load_scheme(kv_scheme))
    batch, prompt, gen, depth = (_whole(n, v, lo) for n, v, lo in
                                 (("batch", batch, 1), ("prompt", prompt, 0), ("gen", gen, 0), ("depth", depth, 0)))
    if prompt + gen < 1:
        raise SimlowError("nothing to predict: prompt and gen are both 0")
    need = depth + prompt + gen
    ctx = need if ctx is None else _whole("ctx", ctx, 1)
    if ctx < need:
        raise SimlowError(f"ctx {ctx} is shorter than depth + prompt + gen = {need}")
    if ctx > m.max_context:
        raise SimlowError(f"context {ctx} exceeds {m.name}'s maximum of {m.max_context} tokens")
    st = load_stack(stack if stack is not None else default_stack(h, engine))
    try:
        st.check_scheme(s)
    except SimlowError as err:
        if scheme is None and scheme_notes:  # the scheme is the model file's own storage
            raise SimlowError(f"{err}; that scheme is how {m.origin} stores its weights: pass --stack, or "
                              "--scheme to size it otherwise") from None
        raise
    eng = pick_engine(h, st, engine)
    ub = st.ubatch if ubatch is None else _whole("ubatch", ubatch, 1)
    if offload is not None:
        offload = offload_from(offload)
    prefetch = _whole("prefetch", prefetch, 0)
    if par is not None:
        if offload is not None or prefetch or background:
            raise SimlowError(f"{par.describe()}: offload, prefetch and background traffic are modelled on one "
                              "device only")
        peer_link(h, par.link)   # the hwspec must name the link
        _check_split(m, par)
    return Request(m, h, s, st, eng, batch, prompt, gen, ctx, depth, routing or Uniform(), ub,
                   offload, prefetch, tuple(background), scheme_notes, par)


def predict(model, hw, scheme=None, batch=1, prompt=512, gen=128, ctx=None, kv_scheme=None,
            stack=None, engine=None, fidelity="roofline", depth=0, routing=None, ubatch=None,
            offload=None, prefetch=0, background=(), tp=1, split=None, link="nvlink", pp=1) -> Prediction:
    """Predict one workload: ``batch`` sequences, a ``prompt``-token prefill on top of
    ``depth`` cached tokens, then ``gen`` decode steps; ``ctx`` is the context the KV cache
    is sized for (default depth + prompt + gen; at most the model's maximum); ``ubatch``
    overrides the stack's prompt tokens per prefill step.

    ``offload`` (an ``Offload``, a mapping or ``"key=value,..."`` text; see
    ``simlow.sim.offload_spec.offload_from``), ``prefetch`` and ``background`` are simulated
    by the discrete-event model only: giving any of them runs ``fidelity="des"``.

    ``tp=N`` runs N ``hw`` devices in tensor parallel, ``pp=M`` M pipeline stages of them as
    vLLM does (``simlow.sim.pipeline``), ``split="layer:3,1"`` (or a tuple of ratios) splits
    the layers over devices as llama.cpp ``-sm layer -ts 3,1`` and ``split="row:1,1"`` every
    matmul's rows as ``-sm row -ts 1,1`` (``simlow.sim.rowsplit``); ``link`` is ``nvlink``
    (the hwspec's peer link) or ``pcie`` (``simlow.sim.parallel``). Memory and fit are then
    per device (``memory["devices"]``; ``memory`` itself is the fullest device). The row split,
    and pipeline parallel above batch 1, are modelled by the roofline only."""
    fidelity = Fidelity.parse(fidelity)
    req = resolve(model, hw, scheme, batch, prompt, gen, ctx, kv_scheme, stack, engine, depth, routing, ubatch,
                  offload, prefetch, background, tp, split, link, pp)
    if req.offload is not None or req.prefetch or req.background:
        fidelity = Fidelity.DES
    if fidelity is Fidelity.DES:
        par = req.parallel
        if par is not None and (par.row or (par.pp > 1 and req.batch > 1)):
            raise SimlowError(f"{par.describe()}: modelled by the roofline only"
                              f"{'' if par.row else ' above batch 1 (micro-batches)'}; drop fidelity des")
        from simlow.sim.des import predict_des   # the DES imports this module's request types

        return predict_des(req, prefetch=req.prefetch, background=req.background)
    return predict_roofline(req)


def predict_roofline(req: Request) -> Prediction:
    temps, _ = templates(req.model, req.scheme)
    mach = machine(req.hw, req.stack, req.engine)
    par = req.parallel
    run = mach if par is None else group_machine(mach, par.tp)
    fp = footprint(req.model, req.hw, req.scheme, req.ctx, req.batch)
    fmt = energy.matmul_format(temps, mach)
    if par is None:
        pre, dec = prefill_times(req, temps, run), decode_times(req, temps, run)
        parts, memory, fits, short, notes = energy.energy(req.hw, req.engine, pre, dec, fmt), fp.to_dict(), \
            fp.fits, fp.shortfall_bytes, []
    else:
        pre, dec, parts, memory, notes = _on_group(req, par, fp, temps, mach, run, fmt)
        fits, short = memory["fits"], memory["shortfall_bytes"]
    if not fits:
        notes.append(f"does not fit: needs {fmt_bytes(memory['total_bytes'])} of {fmt_bytes(memory['usable_bytes'])} "
                     f"usable{' on its fullest device' if par else ''}; speeds are as if it fitted (the roofline "
                     "does not model offload)")
    return make_prediction(
        req, Fidelity.ROOFLINE, temps, pre.total_s if pre else None, dec.total_s if dec else None,
        parts, memory, fits, short,
        {k: roofline.phase_bound(t) for k, t in (("prefill", pre), ("decode", dec)) if t is not None},
        _timeline(temps, mach, pre, dec, comm_op(par) if par else ""), tuple(notes))


def _on_group(req: Request, par, fp, temps, mach, run, fmt):
    """The group's phases with its communication (pipeline stages, a row split, or the
    all-reduces / handovers of ``phases_with_comm``), its energy, per-device memory
    (``simlow.sim.parallel.group_memory``) and a note."""
    link = peer_link(req.hw, par.link)
    if par.pp > 1:
        pre, dec = pipeline_phases(req, temps, run, par, link)
    elif par.row:
        pre, dec = row_phases(req, temps, mach, par, link)
    else:
        pre, dec = phases_with_comm(par, req.model, link, req.batch, req.prompt, req.ubatch,
                                    prefill_times(req, temps, run), decode_times(req, temps, run))
    return (pre, dec, group_energy(req.hw, req.engine, par, pre, dec, fmt), group_memory(fp, req.model, par),
            [comm_note(par, link, pre, dec)])


def _check_split(m, par) -> None:
    """Splits no engine can run: tensor parallel over more devices than attention heads or
    a head count it does not divide (vLLM: "Total number of attention heads must be
    divisible by tensor parallel size"), more stages than layers."""
    if par.tp > 1 and m.heads % par.tp:
        raise SimlowError(f"tp {par.tp}: {m.name}'s {m.heads} attention heads do not divide into {par.tp} "
                          f"(valid: {', '.join(str(n) for n in range(1, m.heads + 1) if m.heads % n == 0 and n <= 64)})")
    if par.pp > m.layers:
        raise SimlowError(f"pp {par.pp} exceeds {m.name}'s {m.layers} layers: a stage would hold none")
