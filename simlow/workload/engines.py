"""Which engines of a device can run an op: engine selection by compute format."""

from __future__ import annotations

from simlow.workload.op import OpTemplate


def runnable_engines(t: OpTemplate, hw) -> tuple[str, ...]:
    """Engines of ``hw`` that can run ``t``: first those with a native rate in its compute
    format, then those that must dequantize to a float format they do have (fp16, bf16,
    fp32). An engine with none of these cannot run it."""
    native = tuple(e.name for e in hw.engines if e.peak(t.compute) > 0)
    fallback = tuple(e.name for e in hw.engines if e.name not in native
                     and any(e.peak(f) > 0 for f in ("fp16", "bf16", "fp32")))
    return native + fallback
