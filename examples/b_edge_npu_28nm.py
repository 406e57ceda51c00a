"""Sizing an edge NPU at 28 nm: a power-of-two (PoT), an INT4-weight and a ternary datapath.

For each datapath, an NPU design (``simlow.npu.design``) of 16x16 MAC arrays is sized to a
peak of 1, 2, 4 or 8 TOPS (dense, 1 MAC = 2 ops) at its modelled design clock (the slowest
of the unit's logic path and the SRAM bank access, with register overhead, skew margin and
corner derating, and the floor fitted on TPU v1: ``simlow.cost.clock``), with 512 KiB of
SRAM and one LPDDR4X-4266 x32 package (17.064 GB/s). ``evaluate`` prices its area by part
(MAC arrays, operand buffers, vector lanes, SRAM macros, interconnect, control, white space,
DRAM PHY); the design as a hardware spec is then simulated (``simlow.predict``, stack
``ideal-npu``) decoding BitNet b1.58 2B at batch 1 in the datapath's weight format, and its
energy per token is the power model's (static power, DRAM and SRAM traffic, ops x the
design's energy per op: ``simlow.sim.power``).

Stated limits: the clock floor and the area factors are fitted on a few published chips
(``simlow cost validate`` gives their held-out errors); the ``ideal-npu`` stack runs at the
design's peak rates (no measured kernels). Writes ``edge_npu.html`` (Pareto front of
tokens/s, energy/token and area) to the folder given as the first argument.

    python examples/b_edge_npu_28nm.py out/
"""

import math
import sys
from pathlib import Path

import simlow
from simlow.npu.design import NpuDesign, evaluate
from simlow.npu.dram import parse_dram
from simlow.npu.spec import to_hardware_spec

MODEL = "bitnet-b1.58-2b4t"
SIDE = 16
DESIGN = dict(array_side=SIDE, sram_bytes=512 * 1024, dram=parse_dram("lpddr4x-4266x32"), node_nm=28,
              capacity_GB=4.0)
# name: (NPU unit, weight scheme, KV-cache scheme or None for the scheme's own). INT4 runs QuaRot's int4
# weights and int4 compute (Q4_0 would compute in fp16 on the vector lanes) with an f16 KV cache.
DATAPATHS = {"PoT 4-bit": ("pot4", "pot-w4", None), "INT4": ("w4a8", "w4a4kv4", "kv-f16"),
             "ternary": ("ternary", "tq2_0", None)}

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
out.mkdir(parents=True, exist_ok=True)

rows = []
print(f"{'datapath':10} {'clock GHz':>9} {'fmax GHz':>8} {'TOPS':>5} {'MACs':>6} {'MAC mm2':>7} {'chip mm2':>8} "
      f"{'decode tok/s':>12} {'prefill tok/s':>13} {'mJ/token':>8}")
for name, (unit, scheme, kv) in DATAPATHS.items():
    clock = evaluate(NpuDesign(unit=unit, arrays=1, **DESIGN)).clock_Hz
    for tops in (1, 2, 4, 8):
        arrays = math.ceil(tops * 1e12 / (2 * clock) / SIDE ** 2)
        design = NpuDesign(unit=unit, arrays=arrays, **DESIGN)
        cost = evaluate(design)
        p = simlow.predict(MODEL, to_hardware_spec(design, cost), scheme, batch=1, prompt=64, gen=16, kv_scheme=kv)
        row = {"datapath": name, "scheme": scheme, "peak_TOPS": tops, "units": design.macs,
               "clock_GHz": cost.clock_Hz / 1e9, "fmax_GHz": cost.fmax_Hz / 1e9,
               "mac_area_mm2": float(cost.area_mm2["mac_arrays"]), "area_mm2": float(cost.total_area_mm2),
               "decode_tok_s": p.decode_tok_s, "prefill_tok_s": p.prefill_tok_s,
               "energy_j_per_token": p.energy_j_per_token}
        rows.append(row)
        print(f"{name:10} {row['clock_GHz']:9.3f} {row['fmax_GHz']:8.2f} {tops:5d} {design.macs:6d} "
              f"{row['mac_area_mm2']:7.3f} {row['area_mm2']:8.2f} {p.decode_tok_s:12.2f} {p.prefill_tok_s:13.1f} "
              f"{1e3 * p.energy_j_per_token:8.1f}")

print("decode at batch 1 is bandwidth-bound here: past the smallest array, more TOPS buys prefill, not decode")
simlow.report(out / "edge_npu.html", sweep=rows, title="Edge NPU at 28 nm: PoT vs INT4 vs ternary")
print(f"wrote {out / 'edge_npu.html'}")
