"""simlow's ggml arithmetic equals output of ggml's own C code, bit for bit.

The oracle is tests/vectors/ggml_recorded_vectors.npz: ggml's ``quantize_row_q8_0`` /
``quantize_row_q8_1`` (activations), ``quantize_row_q4_0_ref`` / ``_q4_1_ref`` / ``_q8_0_ref``
(weights) and ``ggml_vec_dot_q4_0_q8_0`` / ``_q4_1_q8_1`` / ``_q8_0_q8_0`` (the generic C
path of ggml-cpu/quants.c), compiled and run by tests/vectors/record/ (commit, flags and
re-recording in tests/vectors/README.md). Inputs: Gaussian, long (K = 4096) heavy-tailed,
edge rows (zeros, one outlier, one-signed, float16-subnormal and float16-overflowing
scales, roundf ties, on-grid), weights aligned with the activations (integer block sums
near 2**14, where the order of the float products matters), and 16 real rows each of
SmolLM2-135M's Q4_1 ``blk.3.attn_q.weight`` and ``blk.0.ffn_down.weight`` and its Q8_0
``token_embd.weight`` (the tied output matrix) against seeded activations.

gguf-py's quantizers (Q4_0, Q4_1, Q8_0; it has none for Q8_1) are compared with the same
recorded bytes.
"""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from gguf.constants import GGMLQuantizationType as T
from gguf.quants import quantize as gguf_quantize

from simlow.lm.design import load_design
from simlow.lm.ggml_dot import block_dot, quantize_q8_1, reference_block_dot
from simlow.lm.linear import apply, prepare
from simlow.quant import from_bytes, quantize

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "ggml_recorded_vectors.npz"
CASES = ["gauss", "long", "edge", "aligned"]
DOTS = [("q4_0", "q8_0"), ("q4_1", "q8_1"), ("q8_0", "q8_0")]
REAL = [("q4_1", "q8_1", "smollm2"), ("q4_1", "q8_1", "smollm2_down"), ("q8_0", "q8_0", "smollm2_embd")]
DOT_CASES = [(w, a, c) for w, a in DOTS for c in CASES] + REAL


@pytest.fixture(scope="module")
def v():
    with np.load(VECTORS) as f:
        return dict(f)


def _f16(b: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(b).view(np.float16)[..., 0]


def split_q8_1(raw: np.ndarray, rows: int):
    """(codes int8 (rows, K), d float16 (rows, B), s float16 (rows, B)) of block_q8_1 bytes."""
    b = raw.reshape(rows, -1, 36)
    return np.ascontiguousarray(b[..., 4:]).view(np.int8).reshape(rows, -1), _f16(b[..., 0:2]), _f16(b[..., 2:4])


def split_q8_0(raw: np.ndarray, rows: int):
    """(codes int8 (rows, K), d float16 (rows, B)) of block_q8_0 bytes."""
    b = raw.reshape(rows, -1, 34)
    return np.ascontiguousarray(b[..., 2:]).view(np.int8).reshape(rows, -1), _f16(b[..., 0:2])


def recorded_activations(v, act: str, case: str):
    m = v[f"act_{case}"].shape[0]
    if act == "q8_1":
        return split_q8_1(v[f"q8_1_act_{case}"], m)
    q, d = split_q8_0(v[f"q8_0_act_{case}"], m)
    return q, d, None


def recorded_weights(v, wfmt: str, case: str):
    k = v[f"act_{case}"].shape[1]
    raw = v[f"{wfmt}_w_{case}"]
    return from_bytes(raw.tobytes(), wfmt, (raw.shape[0], k))


def bits(x) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.uint32)


@pytest.mark.parametrize("case", CASES + ["smollm2", "smollm2_down"])
def test_q8_1_activations_equal_ggml(v, case):
    codes, d, s = (np.asarray(t) for t in quantize_q8_1(v[f"act_{case}"]))
    want_q, want_d, want_s = split_q8_1(v[f"q8_1_act_{case}"], codes.shape[0])
    np.testing.assert_array_equal(codes, want_q)
    np.testing.assert_array_equal(d.view(np.uint16), want_d.view(np.uint16))
    np.testing.assert_array_equal(s.view(np.uint16), want_s.view(np.uint16))


@pytest.mark.parametrize("case", CASES + ["smollm2_embd"])
def test_q8_0_activations_equal_ggml_and_gguf_py(v, case):
    x, want = v[f"act_{case}"], v[f"q8_0_act_{case}"]
    np.testing.assert_array_equal(np.frombuffer(quantize(x, "q8_0").to_bytes(), np.uint8), want.ravel())
    np.testing.assert_array_equal(gguf_quantize(x, T.Q8_0), want)


@pytest.mark.parametrize("wfmt", ["q4_0", "q4_1", "q8_0"])
@pytest.mark.parametrize("case", CASES)
def test_weight_blocks_equal_ggml_and_gguf_py(v, wfmt, case):
    w, want = v[f"w_{case}"], v[f"{wfmt}_w_{case}"]
    np.testing.assert_array_equal(np.frombuffer(quantize(w, wfmt).to_bytes(), np.uint8), want.ravel())
    np.testing.assert_array_equal(gguf_quantize(w, T[wfmt.upper()]), want)


@pytest.mark.parametrize("wfmt,act,case", DOT_CASES)
def test_block_dot_equals_ggml_vec_dot(v, wfmt, act, case):
    """The recorded activation and weight blocks in, ggml's float32 result bits out."""
    aq, ad, as_ = recorded_activations(v, act, case)
    w = recorded_weights(v, wfmt, case)
    got = block_dot(jnp.asarray(aq), jnp.asarray(ad), None if as_ is None else jnp.asarray(as_), w)
    want = v[f"dot_{wfmt}_{act}_{case}"]
    np.testing.assert_array_equal(bits(got), want)
    wm = np.asarray(w.aux["min"]).reshape(w.shape[0], -1) if "min" in w.aux else None
    ref = reference_block_dot(aq, ad, as_, np.asarray(w.codes), np.asarray(w.scales).reshape(w.shape[0], -1),
                              wm, wfmt)
    np.testing.assert_array_equal(bits(ref), want)


@pytest.mark.parametrize("wfmt,act,case", DOT_CASES)
def test_gguf_native_design_matmul_equals_ggml(v, wfmt, act, case):
    """The gguf-native design's path (float activations -> Q8_1 / Q8_0 -> block dot)."""
    design = load_design("gguf-native")
    p = prepare(design, recorded_weights(v, wfmt, case))
    got = apply(design, jnp.asarray(v[f"act_{case}"]), p)
    np.testing.assert_array_equal(bits(got), v[f"dot_{wfmt}_{act}_{case}"])


def test_recorded_q4_0_sums_tell_the_product_order_apart(v):
    """vec_dot_q4_0_q8_0 computes (sumi*dx)*dy; the aligned case has outputs where
    sumi*(dx*dy) (vec_dot_q8_0_q8_0's order) gives other bits, so the tests above pin it."""
    aq, ad, _ = recorded_activations(v, "q8_0", "aligned")
    w = recorded_weights(v, "q4_0", "aligned")
    wd = np.asarray(w.scales).reshape(w.shape[0], -1)
    other = reference_block_dot(aq, ad, None, np.asarray(w.codes), wd, None, "q8_0")
    assert (bits(other) != v["dot_q4_0_q8_0_aligned"]).any()


def test_recorded_edge_rows_hold_signed_zeros_and_non_finite_results(v):
    """The edge case is what it claims: +0.0 results (from -0.0 block terms) and an inf
    float16 scale, so sign-of-zero and inf/NaN handling are compared too."""
    want = v["dot_q4_0_q8_0_edge"]
    assert (want == 0).any() and not (want == 0x80000000).all()
    _, d, _ = recorded_activations(v, "q8_0", "edge")
    assert np.isinf(d.astype(np.float32)).any()
    assert not np.isfinite(want.view(np.float32)).all()
