"""Discrete-event simulation (SimPy) of inference on a hardware spec.

Layering (each module imports only those above it)::

    clock    integer picoseconds (durations rounded up)
    fabric   memories and links as shared bandwidth (max-min fair flows, exact Fractions)
    work     op graph templates -> OpWork (launch, compute, byte streams) per placement
    runner   the agent process: ops in order, launch overhead, prefetch depth, recording
    step     one step; identical layers folded when the state provably repeats
    series   decode steps over a growing KV cache from a few simulated contexts
    plan     request -> Setup (templates, placement, fabric) -> blocks of a step
    predict  predict_des(request) -> Prediction (what simlow.predict(fidelity="des") calls)
    offload  partial layer offload (llama.cpp -ngl) and the MoE expert cache
    experts  seeded expert draws from a routing distribution
    unified  several agents on one unified memory at once (contention, slowdown)

The environment is always passed in; processes are plain generators; nothing is global.
"""

from __future__ import annotations

from simlow.sim.des.predict import predict_des

__all__ = ["predict_des"]
