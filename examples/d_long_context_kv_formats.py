"""Long context on a 16 GB card: which KV-cache format lets the longest context fit?

For each model and KV-cache format: the longest context that fits next to the Q4_K_M
weights on an RTX 4060 Ti 16 GB, and the memory breakdown at 32K tokens. Writes
``long_context.html`` (memory vs capacity) to the folder given as the first argument.

    python examples/d_long_context_kv_formats.py out/
"""

import sys
from pathlib import Path

import simlow

HW = "rtx-4060ti-16gb"
MODELS = ["llama-3.1-8b", "mistral-small-3.1-24b"]
KV_FORMATS = ["kv-f16", "kv-q8_0", "kv-q4_0", "kv-turbo3"]
CTX = 32768

out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
out.mkdir(parents=True, exist_ok=True)

fits = []
print(f"{'model':24} {'KV format':10} {'KV at 32K':>10} {'fits 32K':>8} {'longest context':>16}")
for model in MODELS:
    for kv in KV_FORMATS:
        r = simlow.fit(model, HW, "q4_k_m", ctx=CTX, kv_scheme=kv)
        fits.append({**r.to_dict(), "label": f"{model} / {kv}"})
        print(f"{model:24} {kv:10} {r.footprint.kv_cache_bytes / 1e9:8.2f} GB {str(r.fits):>8} "
              f"{r.max_context:>16,}")

simlow.report(out / "long_context.html", fit=fits, title=f"KV-cache formats vs context on {HW}")
print(f"wrote {out / 'long_context.html'}")
