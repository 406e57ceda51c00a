"""Unified memory: the NPU and the GPU of a Strix Halo sharing the LPDDR5X bus.

The GPU decodes Llama 3.1 8B (Q4_K_M, llama.cpp ROCm) while a second engine decodes a
small model (Gemma 3 4B, Q4_0): first the XDNA 2 NPU (FastFlowLM), then the 16 Zen 5
cores (llama.cpp CPU). All three engines read the same 256 GB/s LPDDR5X. The
discrete-event co-run (``simlow.sim.des.unified.corun``) runs both agents on one fabric
and each alone, and reports each one's slowdown; the partner decodes for about as long as
the GPU does alone, so the two overlap for most of the run.

The model: a GPU stack's bandwidth fraction is bus occupancy, each byte holding 1/fraction
bytes of bus time (inefficient DRAM traffic; llama.cpp ROCm's fraction is 1.0). The NPU's
and the CPU's fractions (0.194 and 0.327, fitted on published runs) come from their own
paths to memory, not from the bus: their stacks say ``bandwidth_mode: rate_cap``, so each
engine has a port of fraction x 256 GB/s (50 and 84 GB/s) and the bus is charged only the
bytes it moves. Flows share the bus by max-min fairness and a port-capped flow gets
min(its port, its fair share). Alone, every agent runs exactly at its roofline. Both
partners' ports are below half the bus, so here they are not slowed, and the GPU keeps the
bus minus what the partner moves. Columns: ``slowdown`` is this co-run; ``as occupancy``
the same co-run with the partner's fraction read as bus occupancy (what the DES did before
ports: an upper bound); ``as stream`` the partner replaced by a constant stream of what it
moves alone for the whole of the GPU's run, while the real partner stops a little before
the GPU (here a little above the co-run). Not modelled: the bus's own efficiency under
mixed traffic (bank conflicts between the engines' streams), the engines' power limits,
energy.

Writes ``strix_halo_shared_bus.html`` (the NPU's decode alone: memory, roofline, timeline;
and the co-run table) to the folder given as the first argument.

    python examples/e_strix_halo_shared_bus.py out/
"""

import sys
from dataclasses import replace
from pathlib import Path

import simlow
from simlow.sim.des.step import Background
from simlow.sim.des.unified import Agent, corun
from simlow.sim.predict import resolve

HW = "strix-halo"
GPU_JOB = ("llama-3.1-8b", "q4_k_m", "gpu")
PARTNERS = [("gemma-3-4b", "q4_0", "npu"), ("gemma-3-4b", "q4_0", "cpu")]
PROMPT = 1024          # tokens already in each agent's KV cache when decode starts
GPU_STEPS = 8          # decode steps the GPU runs (the DES simulates every layer of every step)

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
out.mkdir(parents=True, exist_ok=True)


def request(job, steps):
    model, scheme, engine = job
    return resolve(model, HW, scheme, prompt=PROMPT, gen=steps, engine=engine)


def decode_s_per_token(job) -> float:
    model, scheme, engine = job
    return 1.0 / simlow.predict(model, HW, scheme, prompt=PROMPT, gen=GPU_STEPS, engine=engine).decode_tok_s


rows = []
gpu_req = request(GPU_JOB, GPU_STEPS)
print(f"{'pair':10} {'engine':6} {'model':14} {'stack':15} {'alone ms/tok':>12} {'together':>9} "
      f"{'slowdown':>8} {'as occupancy':>12} {'as stream':>9}")
for job in PARTNERS:
    steps = max(1, round(GPU_STEPS * decode_s_per_token(GPU_JOB) / decode_s_per_token(job)))
    partner = request(job, steps)
    run = corun([Agent(gpu_req, GPU_STEPS), Agent(partner, steps)])
    gpu, other = run.agents
    # the partner's bandwidth fraction read as bus occupancy instead of its port's cap
    occupying = replace(partner, stack=replace(partner.stack, bandwidth_mode="occupancy"))
    occ = corun([Agent(gpu_req, GPU_STEPS), Agent(occupying, steps)]).agents
    # the partner as a constant stream at the rate it reaches alone (its own path's cap)
    stream = Background((gpu_req.engine.memory,), other.nbytes / other.alone_s, f"{job[2]} stream")
    capped = corun([Agent(gpu_req, GPU_STEPS)], background=(stream,)).agents[0].together_s / gpu.alone_s
    pair = f"GPU + {job[2].upper()}"
    for a, a_occ, req, n, as_stream in ((gpu, occ[0], gpu_req, GPU_STEPS, capped),
                                        (other, occ[1], partner, steps, None)):
        row = {"pair": pair, "engine": a.engine, "model": a.model, "stack": req.stack.name, "steps": n,
               "alone_ms_per_token": 1e3 * a.alone_s / n, "together_ms_per_token": 1e3 * a.together_s / n,
               "slowdown": a.slowdown, "slowdown_partner_as_occupancy": a_occ.slowdown,
               "slowdown_partner_as_stream": as_stream, "alone_GB_per_s": a.nbytes / a.alone_s / 1e9}
        rows.append(row)
        shown = f"{as_stream:9.2f}" if as_stream is not None else f"{'':9}"
        print(f"{pair:10} {a.engine:6} {a.model:14} {req.stack.name:15} {row['alone_ms_per_token']:12.1f} "
              f"{row['together_ms_per_token']:9.1f} {a.slowdown:8.2f} {a_occ.slowdown:12.2f} {shown}")
    conserved = run.moved_alone == run.moved_together
    print(f"{'':10} bytes over the bus together = alone: {conserved}; "
          f"{job[2]} alone moves {rows[-1]['alone_GB_per_s']:.0f} GB/s, the GPU {rows[-2]['alone_GB_per_s']:.0f} GB/s")

npu_alone = simlow.predict(PARTNERS[0][0], HW, PARTNERS[0][1], prompt=PROMPT, gen=GPU_STEPS, engine="npu")
page = out / "strix_halo_shared_bus.html"
simlow.report(page, prediction=npu_alone, sweep=rows, title="Strix Halo: GPU, NPU and CPU on one LPDDR5X bus")
print(f"wrote {page}")
