"""Record ggml_recorded_vectors.npz: outputs of ggml's own C code on seeded inputs.

Builds record_ggml.c against a ggml source tree (the ``ggml/`` folder of llama.cpp or the
ggml repository at the pinned commit) with the generic C path (``-DGGML_CPU_GENERIC``:
ggml-cpu/quants.c's ``*_generic`` functions, no SIMD kernel is compiled), feeds it the
inputs made here and packs inputs and outputs into one .npz. Not run by the tests; see
tests/vectors/README.md for the command. Needs gcc, g++, numpy and gguf (for the
SmolLM2 Q4_1 blocks).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FLAGS = ["-O2", "-ffp-contract=off", "-DGGML_CPU_GENERIC", "-DNDEBUG", "-ffunction-sections",
         "-fdata-sections"]
SOURCES = ["ggml-quants.c", "ggml-cpu/quants.c", "ggml.c"]
QK_K = 256


def build(src: Path, tmp: Path) -> Path:
    inc = [f"-I{src / 'include'}", f"-I{src / 'src'}", f"-I{src / 'src' / 'ggml-cpu'}"]
    objs = []
    for i, f in enumerate(SOURCES + [str(HERE / "record_ggml.c")]):
        path = Path(f) if f.endswith("record_ggml.c") else src / "src" / f
        obj = tmp / f"o{i}.o"
        subprocess.run(["gcc", *FLAGS, *inc, '-DGGML_VERSION="recorded"', '-DGGML_COMMIT="recorded"',
                        "-c", str(path), "-o", str(obj)], check=True)
        objs.append(str(obj))
    thr = tmp / "thr.o"
    subprocess.run(["g++", "-O2", *inc, "-c", str(src / "src" / "ggml-threading.cpp"), "-o", str(thr)],
                   check=True)
    exe = tmp / "record_ggml"
    subprocess.run(["g++", "-Wl,--gc-sections", *objs, str(thr), "-lm", "-lpthread", "-o", str(exe)],
                   check=True)
    return exe


class Driver:
    def __init__(self, exe: Path, tmp: Path):
        self.exe, self.tmp = exe, tmp

    def quant(self, kind: str, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        x.tofile(self.tmp / "in.f32")
        subprocess.run([str(self.exe), "quant", kind, str(x.shape[0]), str(x.shape[1]),
                        str(self.tmp / "in.f32"), str(self.tmp / "out.bin")], check=True)
        return np.fromfile(self.tmp / "out.bin", np.uint8).reshape(x.shape[0], -1)

    def dot(self, kind: str, k: int, act: np.ndarray, w: np.ndarray) -> np.ndarray:
        act.tofile(self.tmp / "a.bin")
        w.tofile(self.tmp / "w.bin")
        subprocess.run([str(self.exe), "dot", kind, str(k), str(act.shape[0]), str(w.shape[0]),
                        str(self.tmp / "a.bin"), str(self.tmp / "w.bin"), str(self.tmp / "s.f32")],
                       check=True)
        return np.fromfile(self.tmp / "s.f32", np.uint32).reshape(act.shape[0], w.shape[0])


def activation_cases(rng) -> dict[str, np.ndarray]:
    """Float activations (M, K): Gaussian, a long row, and edge rows."""
    f = np.float32
    gauss = (rng.standard_normal((8, 256)) * rng.uniform(0.05, 4.0, (8, 1))).astype(f)
    long = (rng.standard_t(4, (4, 4096)) * 0.7).astype(f)
    k = 256
    edge = np.stack([
        np.zeros(k),                                             # all zero: d = 0, id = 0
        np.where(np.arange(k) == 37, 900.0, rng.standard_normal(k) * 0.01),   # one large outlier
        -np.abs(rng.standard_normal(k)),                         # negative only
        np.abs(rng.standard_normal(k)) + 0.5,                    # positive only
        rng.standard_normal(k) * 1e-6,                           # d below float16's normal range
        rng.standard_normal(k) * 3.0e7,                          # d above float16's largest: inf
        np.round(rng.standard_normal(k) * 20) / 2,               # halves: ties of roundf
        np.tile([1.0, -1.0, 0.5, 0.0], k // 4) * 127.0,          # on the grid, d = 1 exactly
    ]).astype(f)
    # flat-topped magnitudes: most codes near the block maximum, so the integer block sums
    # with aligned weights reach ~2**14 and sumi * d rounds (the order of the products matters)
    aligned = (rng.choice([-1.0, 1.0], (8, 2048)) * rng.uniform(0.3, 1.0, (8, 2048))
               * rng.uniform(0.5, 4.0, (8, 1))).astype(f)
    return {"gauss": gauss, "long": long, "edge": edge, "aligned": aligned}


def weight_cases(rng, acts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    f = np.float32
    gauss = (rng.standard_normal((8, 256)) * 0.02).astype(f)
    long = (rng.standard_normal((8, 4096)) * rng.uniform(0.005, 0.1, (8, 1))).astype(f)
    edge = gauss.copy() * 40
    edge[0] = 0.0
    edge[1, 5] = 60.0
    edge[2] = -np.abs(edge[2])
    edge[3] = np.abs(edge[3])
    # aligned with the activations of the same name (large integer block sums, as outlier
    # channels make them): row j follows activation row j % 8 plus noise, some rows negated
    a = acts["aligned"]
    sign = np.where(np.arange(8) % 3 == 2, -1.0, 1.0)[:, None]
    aligned = ((a + rng.standard_normal(a.shape) * 0.05 * a.std()) * sign * 0.01).astype(f)
    return {"gauss": gauss, "long": long, "edge": edge, "aligned": aligned}


# real blocks of SmolLM2-135M-Instruct.Q4_1.gguf: (case, tensor, GGUF type, ggml dot)
REAL = [("smollm2", "blk.3.attn_q.weight", "Q4_1", "q4_1_q8_1"),
        ("smollm2_down", "blk.0.ffn_down.weight", "Q4_1", "q4_1_q8_1"),
        ("smollm2_embd", "token_embd.weight", "Q8_0", "q8_0_q8_0")]


def file_rows(path: Path, name: str, qtype: str, rows: int) -> tuple[np.ndarray, int]:
    """The first ``rows`` rows of tensor ``name`` as raw GGUF blocks, and its row length."""
    from gguf import GGUFReader

    t = next(t for t in GGUFReader(path).tensors if t.name == name)
    if t.tensor_type.name != qtype:
        raise SystemExit(f"{path}: {name} is {t.tensor_type.name}, not {qtype}")
    raw = np.asarray(t.data, np.uint8)
    return np.ascontiguousarray(raw[:rows]), int(t.shape[0])


def smollm2_rows_dequantized(raw: np.ndarray, k: int) -> np.ndarray:
    """The recorded SmolLM2 Q4_1 rows as float32 values, regrouped into rows of 9 * 256."""
    from gguf.constants import GGMLQuantizationType as T
    from gguf.quants import dequantize

    x = np.asarray(dequantize(raw, T.Q4_1), np.float32).reshape(-1, k)
    return np.ascontiguousarray(x.reshape(-1, 9 * QK_K))


def kquant_cases(rng) -> dict[str, np.ndarray]:
    """Float rows (rows, 2 * 256) for the K-quant reference quantizers."""
    f = np.float32
    n = 2 * QK_K
    out = {
        "gauss": rng.standard_normal((6, n)) * rng.uniform(0.01, 3.0, (6, 1)),
        "heavy": rng.standard_t(3, (4, n)),
        "neg": -np.abs(rng.standard_normal((2, n))),
        "pos": np.abs(rng.standard_normal((2, n))) + 0.1,
        "zeros": np.zeros((1, n)),
        "outlier": rng.standard_normal((2, n)) * 0.01,
        "tiny": rng.standard_normal((1, n)) * 1e-7,
        "sparse": rng.standard_normal((2, n)) * (rng.random((2, n)) < 0.05),
    }
    out["outlier"][0, 3] = 50.0
    out["outlier"][1, 300] = -80.0
    return {k: v.astype(f) for k, v in out.items()}


def record_synthetic(d: Driver, rng, out: dict) -> None:
    acts = activation_cases(rng)
    ws = weight_cases(rng, acts)
    for case, a in acts.items():
        w, k = ws[case], a.shape[1]
        out[f"act_{case}"], out[f"w_{case}"] = a, w
        for kind in ("q8_0", "q8_1"):
            out[f"{kind}_act_{case}"] = d.quant(kind, a)
        for kind in ("q4_0", "q4_1", "q8_0"):
            out[f"{kind}_w_{case}"] = d.quant(kind, w)
        for kind, wk, ak in (("q4_0_q8_0", "q4_0", "q8_0"), ("q4_1_q8_1", "q4_1", "q8_1"),
                             ("q8_0_q8_0", "q8_0", "q8_0")):
            out[f"dot_{kind}_{case}"] = d.dot(kind, k, out[f"{ak}_act_{case}"], out[f"{wk}_w_{case}"])


def record_real(d: Driver, rng, out: dict, gguf: Path, case: str, tensor: str, qtype: str,
                kind: str) -> None:
    """16 raw rows of ``tensor`` against 8 seeded activation rows (row 0 all zero)."""
    raw, k = file_rows(gguf, tensor, qtype, 16)
    wk, ak = kind.split("_q")[0], "q" + kind.split("_q")[1]
    a = (rng.standard_normal((8, k)) * rng.uniform(0.1, 3.0, (8, 1))).astype(np.float32)
    a[0] = 0.0
    out[f"act_{case}"], out[f"{wk}_w_{case}"] = a, raw
    out[f"{ak}_act_{case}"] = d.quant(ak, a)
    out[f"dot_{kind}_{case}"] = d.dot(kind, k, out[f"{ak}_act_{case}"], raw)


def record(args) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        d = Driver(build(args.ggml_src, Path(tmp)), Path(tmp))
        out: dict[str, np.ndarray] = {}
        record_synthetic(d, rng, out)
        record_real(d, rng, out, args.gguf, *REAL[0])
        kx = kquant_cases(rng)
        kx["smollm2"] = smollm2_rows_dequantized(out["q4_1_w_smollm2"], out["act_smollm2"].shape[1])
        for case, x in kx.items():
            out[f"kx_{case}"] = x
            for kind in ("q2_K", "q3_K", "q4_K", "q5_K", "q6_K"):
                out[f"{kind.lower()}_{case}"] = d.quant(kind, x)
        for real in REAL[1:]:
            record_real(d, rng, out, args.gguf, *real)
    out["meta"] = np.array(args.meta)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ggml-src", type=Path, required=True, help="ggml source tree (has include/, src/)")
    p.add_argument("--gguf", type=Path, required=True, help="SmolLM2-135M-Instruct.Q4_1.gguf")
    p.add_argument("--seed", type=int, default=20261202)
    p.add_argument("--meta", required=True, help="provenance text stored in the file")
    p.add_argument("--out", type=Path, default=HERE.parent / "ggml_recorded_vectors.npz")
    args = p.parse_args()
    np.savez_compressed(args.out, **record(args))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
