"""Sizing an edge NPU at 28 nm: a power-of-two (PoT), an INT4 and a ternary datapath.

For each datapath, simlow's cost model (``simlow.cost.unit_cost``) gives one MAC unit's
area, energy per operation and max clock at 28 nm from its parts. Each array is sized to a
peak of 1, 2, 4 or 8 TOPS (dense, 1 MAC = 2 ops) at half the unit's max clock (the same
derate as the shipped ``edge-npu-28nm`` template: the delay model ignores wires, clock skew
and library derating). Decode of BitNet b1.58 2B at batch 1 is bounded by streaming the
weights over one LPDDR4X-4266 x32 package (17.064 GB/s), at each datapath's weight format.

Stated limits: area is the bare MAC parts (no SRAM, control, clock tree or DRAM PHY);
energy per token counts the MACs only (one per weight per token), not DRAM traffic; decode
speed is the bandwidth bound, not a simulated stack. Writes ``edge_npu.html`` (Pareto
front of tokens/s, energy/token and area) to the folder given as the first argument.

    python examples/b_edge_npu_28nm.py out/
"""

import math
import sys
from pathlib import Path

import simlow
from simlow.cost import IntMac, Tech, TernaryLane, pot_mac_for_code, unit_cost
from simlow.specs.scheme import weight_bytes
from simlow.specs.tensors import weight_tensors

MODEL = simlow.load_model("bitnet-b1.58-2b4t")
DRAM_BPS = 4266e6 * 32 / 8          # LPDDR4X-4266, one x32 package
DERATE = 0.5
TECH = Tech(28)
DATAPATHS = {                       # name: (unit, weight scheme it runs)
    "PoT 4-bit": (pot_mac_for_code(4, act_bits=8, acc_bits=24), "pot-w4"),
    "INT4": (IntMac(act_bits=8, weight_bits=4, acc_bits=24), "q4_0"),
    "ternary": (TernaryLane(act_bits=8), "tq2_0"),
}

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
out.mkdir(parents=True, exist_ok=True)

params = sum(t.rows * t.cols * t.count for t in weight_tensors(MODEL))
rows = []
print(f"{'datapath':10} {'unit um2':>9} {'pJ/op':>6} {'clock GHz':>9} {'TOPS':>5} {'units':>7} "
      f"{'array mm2':>9} {'tok/s bound':>11} {'MAC mJ/token':>12}")
for name, (unit, scheme) in DATAPATHS.items():
    cost = unit_cost(unit, TECH)
    clock = DERATE * cost.fmax_Hz
    wbytes = weight_bytes(MODEL, simlow.load_scheme(scheme))
    for tops in (1, 2, 4, 8):
        units = math.ceil(tops * 1e12 / (2 * clock))
        row = {"datapath": name, "scheme": scheme, "peak_TOPS": tops, "units": units, "clock_GHz": clock / 1e9,
               "area_mm2": units * cost.area_um2 / 1e6, "decode_tok_s": DRAM_BPS / wbytes,
               "energy_j_per_token": params * cost.energy_pJ_per_op * 1e-12}
        rows.append(row)
        print(f"{name:10} {cost.area_um2:9.1f} {cost.energy_pJ_per_op:6.3f} {clock / 1e9:9.2f} {tops:5d} {units:7d} "
              f"{row['area_mm2']:9.3f} {row['decode_tok_s']:11.2f} {1e3 * row['energy_j_per_token']:12.3f}")

print("decode at batch 1 is bandwidth-bound here: past the smallest array, more TOPS buys prefill, not decode")
simlow.report(out / "edge_npu.html", sweep=rows, title="Edge NPU at 28 nm: PoT vs INT4 vs ternary")
print(f"wrote {out / 'edge_npu.html'}")
