"""K-quant quantization equals bytes that ggml's own compiled C code wrote.

The oracle is tests/vectors/ggml_recorded_vectors.npz (keys ``kx_<case>`` float32 rows of
2 * 256 values, 9 * 256 for ``smollm2``; ``<type>_<case>`` the uint8 GGUF blocks):
``quantize_row_q2_K_ref`` ... ``quantize_row_q6_K_ref`` of ggml-quants.c compiled from the
ggml sources and called by tests/vectors/record/record_ggml.c (commit and flags in
tests/vectors/README.md). This is a second oracle beside kquant_ref_vectors.npz (checked by
test_kquant_quantize.py), recorded from another commit's sources and other inputs: Gaussian
rows of varied scale, Student-t(3), negative-only, positive-only, all-zero, one large
outlier per row, tiny (1e-7), sparse, and real SmolLM2-135M ``blk.3.attn_q.weight`` rows.

Coverage: simlow.quant implements quantize for all five K-quant types (q2_k, q3_k, q4_k,
q5_k, q6_k), so each is compared here. gguf-py (0.19) implements no K-quant quantizer (only
dequantize), so no gguf-py comparison of the quantizer is possible; its dequantize of the
recorded bytes is compared with simlow's reading of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import dequantize as gguf_dequantize

from simlow.quant import from_bytes, quantize

from .conftest import same_floats

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "ggml_recorded_vectors.npz"
KQ = ["q2_k", "q3_k", "q4_k", "q5_k", "q6_k"]


@pytest.fixture(scope="module")
def v():
    with np.load(VECTORS) as f:
        return dict(f)


def _cases(v) -> list[str]:
    return sorted(k[3:] for k in v if k.startswith("kx_"))


def test_the_recorded_cases_are_the_edge_cases_named():
    with np.load(VECTORS) as f:
        cases = {k[3:]: f[k] for k in f.files if k.startswith("kx_")}
    assert not cases["zeros"].any()
    assert (cases["neg"] <= 0).all() and (cases["pos"] > 0).all()
    out = np.abs(cases["outlier"])
    assert (out.max(axis=1) > 100 * np.median(out, axis=1)).all()


@pytest.mark.parametrize("name", KQ)
def test_quantize_equals_ggml_bytes(v, name):
    for case in _cases(v):
        want = v[f"{name}_{case}"]
        got = np.frombuffer(quantize(v[f"kx_{case}"], name).to_bytes(), np.uint8).reshape(want.shape)
        bad = np.nonzero((got != want).any(axis=1))[0]
        assert bad.size == 0, f"{name} {case}: rows {bad.tolist()} differ from ggml's bytes"


@pytest.mark.parametrize("name", KQ)
def test_simlow_reads_the_recorded_bytes_as_gguf_py_does(v, name):
    for case in _cases(v):
        raw = v[f"{name}_{case}"]
        q = from_bytes(raw.tobytes(), name, v[f"kx_{case}"].shape)
        assert same_floats(q.dequantize(), gguf_dequantize(raw, T[name.upper()])), case
