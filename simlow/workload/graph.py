"""The op graph: a model's work for one phase, as operations with FLOPs and bytes.

Two layers of the same idea:

* ``OpTemplate`` (``templates(model, scheme)``): one operation of the model with its cost
  written as *coefficients over workload features* (below). It does not know the batch,
  the prompt or the context, so one list of templates serves every phase, every decode step
  and every point of a 100,000-point sweep (the roofline evaluates the features as NumPy
  arrays). Identical layers share one template: ``repeat`` counts them and ``layers`` lists
  them, so an 80-layer model costs one layer's worth of templates.
* ``OpGraph`` (``build_graph(model, scheme, phase)``): the templates evaluated at one
  ``Phase`` into concrete ``Op`` records (numbers per instance), held in a networkx DiGraph
  whose edges are data dependencies. This is the interface the roofline report and the
  discrete-event simulator (``simlow.sim.des``) consume.

Workload features (per layer instance, per step; B = batch, n = new tokens per sequence,
L = tokens already in the KV cache, W = the layer's attention window or infinity)::

    one      1                                   fixed per-step cost (dense weights)
    tokens   T = B * n                           rows through every projection
    seqs     B                                   rows through lm_head (last token only)
    pairs    B * sum_{i=1..n} min(L + i, W)      query-key pairs scored by attention
    cached   B * min(L + n, W)                   KV entries read once per step
    experts  E[distinct experts touched by T tokens]   (MoE layers; see simlow.workload.routing)

Quantities per template, each a mapping feature -> coefficient (``Op`` holds the values)::

    flops         operations (1 MAC = 2) in ``compute`` format
    weight_read   bytes of weights read (quantized size, scales included: formats.tensor_bytes)
    kv_read       bytes of KV cache read (at the KV format)
    kv_write      bytes of KV cache written
    act_read      bytes of activations read (at the scheme's activation format)
    act_write     bytes of activations written
    params        weight parameters touched (lets a sweep re-price weights at other bits)

Memory levels: weights and KV live in the engine's main memory unless placement says
otherwise (offload is the DES's business); activations are counted as main-memory traffic
(an upper bound; a fused kernel keeps some on chip). Bytes are not double counted: every
byte of ``weight_read`` belongs to exactly one weight tensor (tested: graph totals equal
per-op sums, and a dense decode step reads every weight tensor once except the embedding
table, of which it reads T rows).

``Op.op_class`` (matmul, attention, vector, gather) is what software stacks key their
efficiencies by; ``Op.kernels`` is the number of kernel launches an unfused implementation
issues (llama.cpp's ggml graph nodes), which a stack prices by its per-kernel overhead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import networkx as nx

from simlow.errors import SimlowError
from simlow.formats import StorageFormat
from simlow.numerics import COMPUTE
from simlow.specs.model import FfnKind, ModelSpec, NormKind, TensorClass as C
from simlow.specs.scheme import Scheme, SchemeKind, tensor_formats

FEATURES = ("one", "tokens", "seqs", "pairs", "cached", "experts")
QUANTITIES = ("flops", "weight_read", "kv_read", "kv_write", "act_read", "act_write", "params")
BYTE_QUANTITIES = ("weight_read", "kv_read", "kv_write", "act_read", "act_write")

# Bytes per value of an activation / compute format (simlow.numerics.COMPUTE).
VALUE_BYTES = {name: c.value_bytes for name, c in COMPUTE.items()}

# Vector work (norms, rope, softmax, activation functions) runs in fp32 on every stack
# simlow models (llama.cpp, vLLM, TensorRT-LLM accumulate and normalise in fp32).
VECTOR_FORMAT = "fp32"


class OpClass(enum.Enum):
    MATMUL = "matmul"          # weight x activation products (projections, FFN, experts, lm_head)
    ATTENTION = "attention"    # score and weighted sum over the KV cache
    VECTOR = "vector"          # norms, rope, activation functions, residual adds, routing softmax
    GATHER = "gather"          # embedding row lookup


@dataclass(frozen=True)
class Phase:
    """One step of work: ``batch`` sequences each adding ``tokens`` new tokens on top of a
    KV cache already holding ``context`` tokens. Prefill of P tokens: ``Phase(B, P, depth)``;
    the decode step at context L: ``Phase(B, 1, L)``."""

    batch: int
    tokens: int
    context: int = 0

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise SimlowError(f"batch must be at least 1, got {self.batch}")
        if self.tokens < 1:
            raise SimlowError(f"a phase adds at least 1 token per sequence, got {self.tokens}")
        if self.context < 0:
            raise SimlowError(f"context must be >= 0, got {self.context}")

    @property
    def kind(self) -> str:
        return "decode" if self.tokens == 1 else "prefill"


@dataclass(frozen=True)
class OpTemplate:
    """One operation, its cost as coefficients over ``FEATURES`` (see module docstring).

    ``window`` is the attention window of the layers it stands for (None: full context),
    ``moe`` whether the ``experts`` feature applies; ``repeat == len(layers)`` instances run
    per step (0 layers, repeat 1 for embedding and lm_head). ``group`` is the layer group
    it belongs to (``templates``; None outside the layers) and ``expert`` whether it is part
    of the routed experts' work (their matmuls and activation), so callers never parse
    ``name``, which is for display."""

    name: str
    op_class: OpClass
    compute: str                                   # number format of its arithmetic
    coef: Mapping[str, Mapping[str, float]]        # quantity -> feature -> coefficient
    kernels: int = 1
    repeat: int = 1
    layers: tuple[int, ...] = ()
    window: int | None = None
    weight_format: str | None = None
    tensors: tuple[str, ...] = ()
    group: int | None = None
    expert: bool = False

    def value(self, quantity: str, features: Mapping[str, float]) -> float:
        return sum(c * features[f] for f, c in self.coef.get(quantity, {}).items())


@dataclass(frozen=True)
class Op:
    """A template evaluated at one phase: quantities per instance (multiply by ``repeat``)."""

    name: str
    op_class: OpClass
    compute: str
    flops: float
    weight_read: float
    kv_read: float
    kv_write: float
    act_read: float
    act_write: float
    params: float
    kernels: int
    repeat: int
    layers: tuple[int, ...]
    weight_format: str | None
    engines: tuple[str, ...] = ()

    @property
    def bytes_read(self) -> float:
        return self.weight_read + self.kv_read + self.act_read

    @property
    def bytes_written(self) -> float:
        return self.kv_write + self.act_write

    @property
    def bytes(self) -> float:
        return self.bytes_read + self.bytes_written


@dataclass(frozen=True)
class OpGraph:
    """The ops of one phase in execution order, plus their dependency DiGraph.

    ``dag`` nodes are op names with attribute ``op`` (an ``Op``); edges point from producer
    to consumer. ``layer_sequence[i]`` names the template chain (by its first op's prefix)
    that layer ``i`` runs, so a simulator can replay the true interleaving of different
    layer kinds (sliding-window and global layers, dense and MoE layers)."""

    model: str
    scheme: str
    phase: Phase
    ops: tuple[Op, ...]
    dag: nx.DiGraph = field(compare=False, repr=False)
    layer_sequence: tuple[int, ...] = ()

    def total(self, quantity: str) -> float:
        """A quantity summed over every op instance (``repeat`` applied)."""
        return sum(getattr(op, quantity) * op.repeat for op in self.ops)

    def flops_by_format(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for op in self.ops:
            out[op.compute] = out.get(op.compute, 0.0) + op.flops * op.repeat
        return out

    def layer_ops(self, layer: int) -> tuple[Op, ...]:
        """The ops layer ``layer`` runs (in order)."""
        return tuple(op for op in self.ops if layer in op.layers)


# -- templates -----------------------------------------------------------------------------

def _coef(**quantities: Mapping[str, float]) -> Mapping[str, Mapping[str, float]]:
    return MappingProxyType({q: MappingProxyType(dict(v)) for q, v in quantities.items() if v})


def _matmul(name: str, rows: int, cols: int, fmt: StorageFormat, compute: str, act: float,
            per: str = "tokens", kernels: int = 1, count: int = 1, weight_feature: str = "one",
            tensors: tuple[str, ...] = ()) -> OpTemplate:
    """``count`` weight matrices of rows x cols applied to ``per`` activation rows.

    With ``weight_feature="experts"`` each of ``count`` matrices is one expert's, read once
    per distinct expert touched; ``per`` rows each pass through one of them."""
    wbytes = fmt.tensor_bytes(rows, cols)
    w_mult = count if weight_feature == "one" else 1
    return OpTemplate(
        name, OpClass.MATMUL, compute,
        _coef(flops={per: 2.0 * rows * cols * count},
              weight_read={weight_feature: float(wbytes * w_mult)},
              act_read={per: act * cols * count}, act_write={per: act * rows * count},
              params={weight_feature: float(rows * cols * w_mult)}),
        kernels=kernels, weight_format=fmt.name, tensors=tensors)


def _vector(name: str, width: int, act: float, flops_per: float, kernels: int,
            weight_bytes: float = 0.0, per: str = "tokens") -> OpTemplate:
    return OpTemplate(name, OpClass.VECTOR, VECTOR_FORMAT,
                      _coef(flops={per: flops_per * width}, act_read={per: act * width},
                            act_write={per: act * width},
                            weight_read={"one": weight_bytes} if weight_bytes else {}),
                      kernels=kernels)


@dataclass(frozen=True)
class _Tensors:
    """Every weight tensor of a model with its format under a scheme (all scheme rules
    applied: overrides, model conditions, tied embeddings, block fallbacks) and its bytes."""

    fmt: Mapping[str, StorageFormat]
    nbytes: Mapping[str, int]
    cls: Mapping[str, C]
    by_layer: Mapping[int | None, tuple[str, ...]]

    @classmethod
    def of(cls, m: ModelSpec, s: Scheme) -> "_Tensors":
        fmt, nbytes, klass, by_layer = {}, {}, {}, {}
        for t, f, n in tensor_formats(m, s):
            fmt[t.name], nbytes[t.name], klass[t.name] = f, n, t.cls
            by_layer.setdefault(t.layer, []).append(t.name)
        return cls(fmt, nbytes, klass, {k: tuple(v) for k, v in by_layer.items()})

    def bytes_of(self, layer: int | None, classes: tuple[C, ...]) -> int:
        """Bytes of the tensors of ``layer`` (None: outside the layers) of the given classes."""
        return sum(self.nbytes[n] for n in self.by_layer.get(layer, ()) if self.cls[n] in classes)


def _layer_templates(m: ModelSpec, s: Scheme, i: int, tf: _Tensors) -> list[OpTemplate]:
    """The ops of layer ``i`` (names without the layer-group prefix)."""
    act = VALUE_BYTES[s.activations]
    h, q, kv = m.hidden_size, m.q_dim, m.kv_dim
    per = 2 if m.norm is NormKind.LAYER else 1
    attn_norm = tf.fmt[f"blk.{i}.norms"].tensor_bytes(1, h) * per
    out = [_vector("attn_norm", h, act, 5.0, 3, attn_norm)]
    for name, rows in (("attn_q", q), ("attn_k", kv), ("attn_v", kv)):
        out.append(_matmul(name, rows, h, tf.fmt[f"blk.{i}.{name}"], s.compute, act, tensors=(f"blk.{i}.{name}",)))
    out.append(_vector("rope", q + kv + (2 * m.head_dim if m.qk_norm else 0), act, 6.0, 2))
    out.append(_attention(m, s, i))
    if m.attn_sub_norm:
        out.append(_vector("attn_sub_norm", h, act, 5.0, 2))
    out.append(_matmul("attn_output", h, q, tf.fmt[f"blk.{i}.attn_output"], s.compute, act,
                       tensors=(f"blk.{i}.attn_output",)))
    # the rest of the layer's norm weights, and its biases and sinks, are read with ffn_norm
    rest = tf.bytes_of(i, (C.NORM,)) - attn_norm + tf.bytes_of(i, (C.BIAS,))
    out.append(_vector("ffn_norm", h, act, 6.0, 3, rest))
    out += _ffn_templates(m, s, i, act, tf)
    return out


def _attention(m: ModelSpec, s: Scheme, i: int) -> OpTemplate:
    """Scores and weighted sum over the cache (fused, flash-attention style: scores stay on
    chip). Per pair and head: 2*head_dim (q.k) + 2*head_dim (p.v) ops; the softmax's few
    fp32 ops per pair are folded in as 5 per head. KV bytes per token: K and V rows of
    ``kv_heads x head_dim`` at the KV format (its scales and norms included)."""
    act = VALUE_BYTES[s.activations]
    kv_tok = m.kv_token_bytes(s.kv_cache)
    window = m.sliding_window.size if m.sliding_window and m.sliding_window.is_windowed(i) else None
    coef = _coef(flops={"pairs": m.heads * (4.0 * m.head_dim + 5.0)},
                 kv_read={"cached": float(kv_tok)}, kv_write={"tokens": float(kv_tok)},
                 act_read={"tokens": act * (m.q_dim + 2 * m.kv_dim)}, act_write={"tokens": act * m.q_dim})
    return OpTemplate("attention", OpClass.ATTENTION, s.activations, coef, kernels=4, window=window)


def _ffn_templates(m: ModelSpec, s: Scheme, i: int, act: float, tf: _Tensors) -> list[OpTemplate]:
    h = m.hidden_size
    if not m.is_moe_layer(i):
        return _gated("ffn", m, s, i, m.intermediate_size, f"blk.{i}.ffn_{{}}", act, tf)
    moe = m.moe
    assert moe is not None
    router = f"blk.{i}.ffn_gate_inp"
    out = [_matmul("router", moe.experts, h, tf.fmt[router], VECTOR_FORMAT, act, tensors=(router,)),
           _vector("topk", moe.experts, act, 6.0, 4)]
    out += [_replace(t, expert=True) for t in _gated("experts", m, s, i, moe.expert_intermediate_size,
                                                   f"blk.{i}.ffn_{{}}_exps", act, tf, moe.top_k, "experts")]
    out.append(_combine(h, moe.top_k, act))
    if moe.shared_experts:
        width = moe.shared_intermediate_size * moe.shared_experts
        out += _gated("shared", m, s, i, width, f"blk.{i}.ffn_{{}}_shexp", act, tf)
    return out


def _combine(h: int, k: int, act: float) -> OpTemplate:
    """The routed experts' outputs weighted and summed, as llama.cpp's build_moe_ffn does it:
    one ``mul`` by the routing weights over ``k x h`` values, then ``k - 1`` pairwise ``add``
    kernels (one ``cont`` instead when k = 1). Per token: (2k - 1) h flops, reads k h + 2 (k - 1)
    h values and writes k h + (k - 1) h."""
    return OpTemplate("moe_combine", OpClass.VECTOR, VECTOR_FORMAT,
                      _coef(flops={"tokens": float((2 * k - 1) * h)},
                            act_read={"tokens": act * (3 * k - 2) * h},
                            act_write={"tokens": act * (2 * k - 1) * h}),
                      kernels=k if k > 1 else 2)


def _gated(stem: str, m: ModelSpec, s: Scheme, i: int, width: int, tensor: str, act: float, tf: _Tensors,
           count: int = 1, weight_feature: str = "one") -> list[OpTemplate]:
    """gate and up (gated FFN) or up alone (plain), the activation function, then down.
    ``tensor`` is the weight tensor name pattern with ``{}`` for gate / up / down."""
    h = m.hidden_size
    kw = dict(count=count, weight_feature=weight_feature)
    out = []
    for part in (("gate", "up") if m.ffn is FfnKind.GATED else ("up",)):
        name = tensor.format(part)
        out.append(_matmul(f"{stem}_{part}", width, h, tf.fmt[name], s.compute, act, tensors=(name,), **kw))
    out.append(_vector(f"{stem}_act", width * count, act, 8.0 if m.ffn is FfnKind.GATED else 6.0,
                       2 if m.ffn is FfnKind.GATED else 1))
    if m.ffn_sub_norm:
        out.append(_vector(f"{stem}_sub_norm", width * count, act, 5.0, 2))
    name = tensor.format("down")
    out.append(_matmul(f"{stem}_down", h, width, tf.fmt[name], s.compute, act, tensors=(name,), **kw))
    return out


def _signature(m: ModelSpec, tf: _Tensors, i: int) -> tuple:
    """Layers with equal signatures have identical templates."""
    prefix = f"blk.{i}."
    fmts = tuple((n[len(prefix):], tf.fmt[n].name) for n in tf.by_layer.get(i, ()))
    sw = m.sliding_window
    return fmts, m.is_moe_layer(i), bool(sw and sw.is_windowed(i))


def templates(m: ModelSpec, s: Scheme) -> tuple[tuple[OpTemplate, ...], tuple[int, ...]]:
    """Every op template of ``m`` under ``s`` in execution order, and the layer sequence.

    Layers are grouped by signature (format per weight tensor, dense or MoE, windowed or
    global); group ``g`` contributes templates named ``layers{g}.<op>`` with ``repeat`` = the
    number of its layers. ``sequence[i]`` is the group layer ``i`` belongs to."""
    if s.kind is not SchemeKind.WEIGHTS:
        raise SimlowError(f"scheme {s.name!r} is a KV-cache scheme; give a weight scheme "
                          f"(and pass it as kv_scheme)")
    act = VALUE_BYTES[s.activations]
    tf = _Tensors.of(m, s)
    groups: dict[tuple, list[int]] = {}
    for i in range(m.layers):
        groups.setdefault(_signature(m, tf, i), []).append(i)
    index = {sig: g for g, sig in enumerate(groups)}
    sequence = tuple(index[_signature(m, tf, i)] for i in range(m.layers))
    emb_fmt = tf.fmt["token_embd"]
    out = [OpTemplate("token_embd", OpClass.GATHER, s.activations,
                      _coef(weight_read={"tokens": float(emb_fmt.tensor_bytes(1, m.hidden_size))},
                            act_write={"tokens": act * m.hidden_size}),
                      weight_format=emb_fmt.name, tensors=("token_embd",))]
    for sig, layers in groups.items():
        g = index[sig]
        for t in _layer_templates(m, s, layers[0], tf):
            out.append(_replace(t, name=f"layers{g}.{t.name}", repeat=len(layers), layers=tuple(layers), group=g))
    # the output norm and the rope frequency table: small tensors used once per step
    small = tf.bytes_of(None, (C.NORM, C.ROPE))
    out.append(_vector("output_norm", m.hidden_size, act, 5.0, 2, per="seqs", weight_bytes=small))
    head = "token_embd" if m.tied_embeddings else "output"
    out.append(_matmul("lm_head", m.vocab_size, m.hidden_size, tf.fmt[head], s.compute, act, per="seqs",
                       tensors=(head,)))
    return tuple(out), sequence


def _replace(t: OpTemplate, **kw) -> OpTemplate:
    from dataclasses import replace

    return replace(t, **kw)


# -- evaluation ----------------------------------------------------------------------------

def attended_pairs(batch, tokens, context, window):
    """``batch * sum_{i=1..tokens} min(context + i, window)`` (window None: unlimited).

    Works on NumPy arrays (broadcast) as well as on scalars."""
    import numpy as np

    b, n, L = (np.asarray(x, dtype=np.float64) for x in (batch, tokens, context))
    if window is None:
        return b * (n * L + n * (n + 1) / 2)
    c = np.clip(window - L, 0, n)          # steps whose whole history fits in the window
    return b * (c * L + c * (c + 1) / 2 + (n - c) * window)


def features(t: OpTemplate, batch, tokens, context, distinct_experts=None) -> dict:
    """The feature values of template ``t`` at a phase (scalars or broadcast NumPy arrays).

    ``distinct_experts`` is E[distinct experts] for ``batch * tokens`` routed tokens (from a
    routing distribution, ``simlow.workload.routing``); required when ``t`` reads experts."""
    import numpy as np

    b, n, L = (np.asarray(x, dtype=np.float64) for x in (batch, tokens, context))
    cached = b * (L + n if t.window is None else np.minimum(L + n, t.window))
    f = {"one": np.ones_like(b * n * L), "tokens": b * n, "seqs": b, "cached": cached,
         "pairs": attended_pairs(b, n, L, t.window)}
    if "experts" in t.coef.get("weight_read", {}):
        if distinct_experts is None:
            raise SimlowError(f"{t.name}: a MoE op needs the expected number of distinct experts")
        f["experts"] = np.asarray(distinct_experts, dtype=np.float64)
    else:
        f["experts"] = np.zeros_like(f["one"])
    return f


def evaluate(t: OpTemplate, f: Mapping[str, float], engines: tuple[str, ...] = ()) -> Op:
    """Template ``t`` at scalar feature values ``f``: one concrete ``Op``."""
    vals = {q: float(t.value(q, f)) for q in QUANTITIES}
    return Op(t.name, t.op_class, t.compute, kernels=t.kernels, repeat=t.repeat, layers=t.layers,
              weight_format=t.weight_format, engines=engines, **vals)


def runnable_engines(t: OpTemplate, hw) -> tuple[str, ...]:
    """Engines of ``hw`` that can run ``t``: first those with a native rate in its compute
    format, then those that must dequantize to a float format they do have (fp16, bf16,
    fp32). An engine with none of these cannot run it."""
    native = tuple(e.name for e in hw.engines if e.peak(t.compute) > 0)
    fallback = tuple(e.name for e in hw.engines if e.name not in native
                     and any(e.peak(f) > 0 for f in ("fp16", "bf16", "fp32")))
    return native + fallback


def build_graph(m: ModelSpec, s: Scheme, phase: Phase, routing=None, hw=None) -> OpGraph:
    """The op graph of ``m`` under scheme ``s`` for one ``phase``.

    ``routing`` (a ``simlow.workload.routing`` distribution; default uniform) sets how many
    distinct experts a MoE layer touches; ``hw`` (optional) fills each op's ``engines``."""
    temps, sequence = templates(m, s)
    distinct = None
    if m.moe is not None:
        from simlow.workload.routing import Uniform

        r = routing if routing is not None else Uniform()
        distinct = float(r.distinct(phase.batch * phase.tokens, m.moe.experts, m.moe.top_k))
    ops = []
    for t in temps:
        f = {k: float(v) for k, v in features(t, phase.batch, phase.tokens, phase.context, distinct).items()}
        ops.append(evaluate(t, f, runnable_engines(t, hw) if hw is not None else ()))
    return OpGraph(m.name, s.name, phase, tuple(ops), _dag(ops), sequence)


def _dag(ops: list[Op]) -> nx.DiGraph:
    """Data dependencies in execution order: each op consumes its predecessor's output,
    except that the q, k and v projections are siblings (all read the attention norm's
    output, all feed rope / attention). One node per op template: a template with
    ``repeat > 1`` stands for that many layer instances (see ``OpGraph.layer_sequence``)."""
    g = nx.DiGraph()
    for op in ops:
        g.add_node(op.name, op=op)
    prev: list[str] = []
    norm: list[str] = []
    for op in ops:
        short = op.name.rsplit(".", 1)[-1]
        if short in ("attn_q", "attn_k", "attn_v"):
            if short == "attn_q":
                norm = prev
                prev = []
            g.add_edges_from((p, op.name) for p in norm)
            prev = prev + [op.name]
            continue
        g.add_edges_from((p, op.name) for p in prev)
        prev = [op.name]
    return g
