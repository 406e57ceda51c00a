"""An offload, as data: what a prediction keeps in host memory and where those layers run.

``Offload`` (llama.cpp ``-ngl`` layer split, ``host`` mode per step, an MoE expert cache
``ExpertCacheSpec``) is the one type the API, the CLI text (``offload_from``) and the
claim files build; ``simlow.sim.des.offload`` simulates it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from simlow.errors import SimlowError

class CachePolicy(enum.StrEnum):
    """Which experts an expert cache keeps (``simlow.sim.des.cache`` implements each)."""
    LRU = "lru"
    LFU = "lfu"
    STATIC = "static"


def cache_policy(name: CachePolicy | str) -> CachePolicy:
    """The policy ``name`` names, or a clear error listing the valid ones."""
    try:
        return CachePolicy(name)
    except ValueError:
        raise SimlowError(f"unknown expert cache policy {name!r} "
                          f"(valid: {', '.join(p.value for p in CachePolicy)})") from None


@dataclass(frozen=True)
class ExpertCacheSpec:
    policy: CachePolicy = CachePolicy.LRU
    fraction: float = 0.08         # of all experts (Luce Spark keeps the top 8%)
    ring: int = 0                  # async prefetch ring slots (0: synchronous copies)
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", cache_policy(self.policy))
        if not 0.0 <= self.fraction <= 1.0:
            raise SimlowError(f"expert cache fraction must be in [0, 1], got {self.fraction}")
        if self.ring < 0:
            raise SimlowError(f"ring must be >= 0 slots, got {self.ring}")


OFFLOAD_MIN_BATCH = 32   # ggml-cuda: tokens from which an op on host weights runs on the GPU


class HostMode(enum.Enum):
    """Where the layers kept in host memory run (module docstring)."""
    AUTO = "auto"          # llama.cpp: stream for steps of >= OFFLOAD_MIN_BATCH tokens, else cpu
    CPU = "cpu"
    STREAM = "stream"

    def for_step(self, tokens: int) -> "HostMode":
        """The mode a step of ``tokens`` tokens (all sequences) runs in: CPU or STREAM."""
        if self is HostMode.AUTO:
            return HostMode.STREAM if tokens >= OFFLOAD_MIN_BATCH else HostMode.CPU
        return self


@dataclass(frozen=True)
class Offload:
    device_layers: int | None = None          # None: all layers on the device
    host: HostMode = HostMode.AUTO            # text ("auto", "cpu", "stream") is accepted
    expert_cache: ExpertCacheSpec | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.host, HostMode):
            valid = ", ".join(m.value for m in HostMode)
            if self.host not in {m.value for m in HostMode}:
                raise SimlowError(f"offload host mode must be one of {valid}, got {self.host!r}")
            object.__setattr__(self, "host", HostMode(self.host))

    def label(self) -> str:
        """What is kept where, in a few words (claim verdicts, reports)."""
        bits = []
        if self.device_layers is not None:
            bits.append(f"{self.device_layers} layers on device, rest on host {self.host.value}")
        c = self.expert_cache
        if c is not None:
            bits.append(f"{c.policy} expert cache {c.fraction:.0%}" + (f" ring {c.ring}" if c.ring else ""))
        return ", ".join(bits)


_OFFLOAD_KEYS = ("device_layers", "host", "experts", "fraction", "ring", "seed")


def offload_from(value) -> Offload | None:
    """An ``Offload`` from a mapping (claim files, JSON) or CLI text ``key=value,...``.

    Keys: ``device_layers`` (layers kept on the device), ``host`` (auto | cpu | stream;
    default auto, llama.cpp's per-step choice),
    ``experts`` (expert cache policy: lru | lfu | static), ``fraction`` (share of experts
    cached on the device, default 0.08), ``ring`` (async prefetch slots), ``seed``.
    ``None`` or an ``Offload`` pass through.
    """
    if value is None or isinstance(value, Offload):
        return value
    if isinstance(value, str):
        pairs = [p.partition("=") for p in value.split(",") if p.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise SimlowError(f"offload {value!r}: write key=value pairs separated by commas "
                              f"(keys: {', '.join(_OFFLOAD_KEYS)})")
        value = {k.strip(): v.strip() for k, _, v in pairs}
    if not isinstance(value, dict):
        raise SimlowError(f"offload must be a mapping or key=value text, got {value!r}")
    unknown = [k for k in value if k not in _OFFLOAD_KEYS]
    if unknown:
        raise SimlowError(f"offload: unknown key {unknown[0]!r} (valid: {', '.join(_OFFLOAD_KEYS)})")

    def number(key, kind, default):
        try:
            return kind(value.get(key, default))
        except (TypeError, ValueError):
            raise SimlowError(f"offload: {key} must be a {kind.__name__}, got {value[key]!r}") from None

    cache = None
    if "experts" in value:
        cache = ExpertCacheSpec(policy=str(value["experts"]), fraction=number("fraction", float, 0.08),
                                ring=number("ring", int, 0), seed=number("seed", int, 0))
    elif any(k in value for k in ("fraction", "ring", "seed")):
        raise SimlowError("offload: fraction, ring and seed describe an expert cache; "
                          f"add experts={'|'.join(p.value for p in CachePolicy)}")
    layers = value.get("device_layers")
    return Offload(device_layers=None if layers is None else number("device_layers", int, 0),
                   host=str(value.get("host", "auto")), expert_cache=cache)
