"""What-if: bits per weight vs decode tokens/s and quality, on an M4 Max and a 16 GB GPU.

Speed: the sweep ``workloads/sweeps/bits-vs-speed.yaml`` (Llama 3.1 8B, seven weight
schemes, two devices, each under its default llama.cpp stack). Quality: the RMS error of
each format that simlow can quantize bit-exactly, on the same seeded Gaussian weight
matrix. That is a proxy, stated as one: real weights are not Gaussian, and ternary models
(tq2_0) are trained for their format, so its error here overstates their loss. Writes
``bits_vs_speed.html`` (Pareto front: tokens/s vs energy per token; error per format) and
the sweep's rows (``bits-vs-speed.jsonl`` / ``.csv``) to the folder given as the first
argument.

    python examples/a_bits_vs_speed.py out/
"""

import sys
from pathlib import Path

import numpy as np

import simlow
from simlow import quant, sweep
from simlow.specs.registry import data_root
from simlow.specs.tensors import weight_tensors

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
out.mkdir(parents=True, exist_ok=True)

spec = sweep.load_sweep(data_root() / "workloads" / "sweeps" / "bits-vs-speed.yaml")
rows = sweep.run_sweep(spec, out / "bits-vs-speed.jsonl", sweep.Serial(), restart=True)
params = sum(t.rows * t.cols * t.count for t in weight_tensors(simlow.load_model("llama-3.1-8b")))
for r in rows:
    r["bits_per_weight"] = None if r["error"] else 8 * r["weight_bytes"] / params
print(f"{'device':18} {'scheme':8} {'bits/weight':>11} {'decode tok/s':>12} {'J/token':>8}  fits")
for r in rows:
    if r["error"]:
        print(f"{r['hw']:18} {r['scheme']:8} {'':>11} {'-':>12} {'-':>8}  {r['error']}")
        continue
    print(f"{r['hw']:18} {r['scheme']:8} {r['bits_per_weight']:11.2f} {r['decode_tok_s']:12.1f} "
          f"{r['energy_j_per_token']:8.3f}  {r['fits']}")

w = np.random.default_rng(0).standard_normal((64, 1024)).astype(np.float32)
quality = []
for fmt in ("tq2_0", "q4_0", "q5_0", "q8_0"):
    q = quant.quantize(w, fmt)
    err = np.asarray(q.dequantize(), dtype=np.float64) - w
    quality.append({"format": fmt, "bits_per_weight": q.bits_per_weight,
                    "rmse": float(np.sqrt(np.mean(err ** 2))), "max_abs_error": float(np.max(np.abs(err)))})
    print(f"{fmt:6} {q.bits_per_weight:5.2f} bits/weight: RMS error {quality[-1]['rmse']:.4f} (Gaussian weights, std 1)")

simlow.report(out / "bits_vs_speed.html", sweep=rows, quant=quality, title="Bits per weight vs speed and quality")
print(f"wrote {out / 'bits_vs_speed.html'}")
