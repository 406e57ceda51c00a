"""Validation row mapping: schemes identified by file size, size-matched dynamic mixes,
the calibration split, and the report (summaries with and without size-matched rows,
markdown, JSON)."""

import csv
import dataclasses
import json

import pytest

from simlow.errors import SimlowError
from simlow.memory import footprint
from simlow.validation.measured import (BY_SIZE, EXACT, SIZE_MATCHED, Case, Measured, case_scheme, effective_ubatch,
                                 map_row, read_dir, scheme_bytes, size_matched)
from simlow.sim.predict import predict
from simlow.validation.validate import (NO_SIZE_MATCHED, ONLY_SIZE_MATCHED, OVERALL, default_data_dir, mapped_rows,
                                 split_of, to_markdown, validate)
from simlow.specs import load_hw, load_model, load_scheme
from simlow.specs.scheme import weight_bytes
from simlow.specs.tensors import weight_tensors



def _strix(model_dir, quant, size, test="tg128", backend="llama.cpp-vulkan_radv"):
    return Measured("strix_halo_lhl_llmbench", 2, "strix-halo", backend, model_dir, quant, test, 50.0,
                    gguf_bytes=float(size))


@pytest.mark.parametrize("model_dir,model,size", [("gpt-oss-20b-F16", "gpt-oss-20b", 13_779_630_336),
                                                  ("gpt-oss-120b-F16", "gpt-oss-120b", 65_355_994_368)])
def test_gpt_oss_f16_files_are_mxfp4_by_size(model_dir, model, size):
    """lhl's 'F16' gpt-oss files (model_size from llama-bench) are MXFP4 experts + 16-bit
    rest: scheme mxfp4 gives the byte count exactly; f16 and mxfp4_moe do not come close."""
    case = map_row(_strix(model_dir, "F16", size))
    assert isinstance(case, Case), case
    assert (case.scheme, case.mapping) == ("mxfp4", BY_SIZE) and "MXFP4" in case.note
    assert scheme_bytes(model, "mxfp4") == size
    assert abs(scheme_bytes(model, "mxfp4_moe") / size - 1) > 0.03
    assert scheme_bytes(model, "f16") > 2.5 * size


def test_dynamic_mix_is_size_matched_to_the_file():
    size = 17_709_692_928     # Qwen3-30B-A3B-UD-Q4_K_XL, strix_halo_lhl_llmbench.csv model_size_bytes
    case = map_row(_strix("Qwen3-30B-A3B-UD-Q4_K_XL", "Q4_K - Medium", size))
    assert isinstance(case, Case) and case.mapping == SIZE_MATCHED and case.scheme == "q4_k_m"
    m = load_model("qwen3-30b-a3b")
    plain = weight_bytes(m, load_scheme("q4_k_m"))
    assert abs(plain / size - 1) > 0.04                         # why it is not an exact mapping
    scaled = case_scheme(case)
    assert weight_bytes(m, scaled) == pytest.approx(size, rel=1e-12)
    assert sum(footprint(m, load_hw("strix-halo"), scaled, ctx=256).weights_bytes.values()) == pytest.approx(size, rel=1e-12)
    # same formats, only the bytes move: decode (weight-bandwidth bound) scales with them
    a = predict(m, "strix-halo", "q4_k_m", prompt=0, gen=16, stack="llama.cpp-vulkan")
    b = predict(m, "strix-halo", scaled, prompt=0, gen=16, stack="llama.cpp-vulkan")
    assert a.decode_tok_s < b.decode_tok_s < a.decode_tok_s * plain / size * 1.001


def test_size_matched_scales_every_tensor_and_nothing_else():
    m, s = load_model("llama-2-7b"), load_scheme("q4_k_m")
    half = size_matched(s, 0.5)
    for t in weight_tensors(m)[:12]:
        f, g = s.tensor_format(m, t), half.tensor_format(m, t)
        assert (g.name, g.compute, g.block) == (f.name, f.compute, f.block)
        assert g.tensor_bytes(t.rows, t.cols) == pytest.approx(f.tensor_bytes(t.rows, t.cols) / 2)
    assert half.kv_cache == s.kv_cache
    with pytest.raises(SimlowError, match="scale"):
        size_matched(s, 0.0)


def test_a_mismatched_file_that_is_not_a_known_dynamic_mix_stays_unmapped():
    row = _strix("llama-2-7b.Q4_0", "Q4_0", 3_825_065_984 * 1.2)
    why = map_row(row)
    assert isinstance(why, str) and "mixes formats differently" in why
    exact = map_row(_strix("llama-2-7b.Q4_0", "Q4_0", 3_825_065_984))
    assert exact.mapping == EXACT and exact.size_scale == 1.0 and exact.note == ""


def test_split_follows_the_stack_calibration():
    base = Case("rtx-5080", "llama-2-7b", "q4_0", "llama.cpp-cuda", "tg", 1, 0, 128, 0)
    assert split_of(base) == "in-sample"                                  # fitted group
    assert split_of(dataclasses.replace(base, hw="rtx-4090")) == "held-out"
    assert split_of(dataclasses.replace(base, hw="h100-sxm")) == "held-out"   # no row, never fitted
    assert split_of(dataclasses.replace(base, stack="ideal")) == "uncalibrated"
    # llama.cpp-rocm-rocblas was split by model
    roc = Case("strix-halo", "llama-3.3-70b", "q4_k_m", "llama.cpp-rocm-rocblas", "tg", 1, 0, 128, 0)
    assert split_of(roc) == "held-out"
    assert split_of(dataclasses.replace(roc, model="qwen3-32b", scheme="q8_0")) == "in-sample"
    assert split_of(dataclasses.replace(roc, model="llama-2-7b", scheme="q4_0")) == "in-sample"


@pytest.fixture(scope="module")
def report():
    return validate()


def test_size_matched_rows_are_only_in_validate_and_flagged(report):
    ok, bad = mapped_rows()
    assert all(c.mapping != SIZE_MATCHED for _, c in ok)
    assert any(why.startswith("size-matched only") for _, _, why in bad)
    ok_all, _ = mapped_rows(size_matched=True)
    assert len(ok_all) > len(ok)
    flagged = [r for r in report.rows if r.mapping == SIZE_MATCHED]
    assert flagged and all("no scheme reproduces it" in r.note for r in flagged)


def test_headline_groups_partition_the_rows(report):
    s = report.summaries
    for metric in ("decode", "prefill"):
        n = sum(r.metric == metric for r in report.rows)
        assert s[OVERALL][metric].n == n
        assert s[NO_SIZE_MATCHED][metric].n + s[ONLY_SIZE_MATCHED][metric].n == n
        assert sum(s[f"split:{sp}"][metric].n for sp in ("in-sample", "held-out", "uncalibrated")) == n
        errs = sorted(abs(r.error) for r in report.rows if r.metric == metric and r.mapping != SIZE_MATCHED)
        assert s[NO_SIZE_MATCHED][metric].median_abs == pytest.approx((errs[(len(errs) - 1) // 2]
                                                                       + errs[len(errs) // 2]) / 2)


def test_markdown_and_json(report):
    md = to_markdown(report)
    hws = {r.hw for r in report.rows}
    device_lines = [ln for ln in md.splitlines() if ln.startswith("| ") and ln.split(" | ")[0][2:] in hws]
    assert len(device_lines) == len(hws)
    s = report.summaries[NO_SIZE_MATCHED]["decode"]
    assert f"| **{NO_SIZE_MATCHED}** | {s.n} | {100 * s.median_abs:.1f}% |" in md
    d = json.loads(json.dumps(report.to_dict()))
    assert d["n_scored"] == len(d["rows"]) == len(report.rows)
    assert {r["mapping"] for r in d["rows"]} <= {EXACT, BY_SIZE, SIZE_MATCHED}


def test_batch_flag_caps_the_micro_batch():
    """llama.cpp runs min(n_batch, n_ubatch) tokens per step (llama-context.cpp), so a
    ``-b 256`` run whose llama-bench JSON says n_ubatch 512 prefills in steps of 256."""
    assert effective_ubatch(512, "-b 256") == 256
    assert effective_ubatch(512, "-fa 1 -b 256") == 256
    assert effective_ubatch(512, "-fa 1") == 512
    assert effective_ubatch(128, "-b 256") == 128          # a smaller n_ubatch is kept
    assert effective_ubatch(None, "-b 256") is None


def test_strix_halo_b256_rows_prefill_in_256_token_steps():
    """lhl's ``-b 256`` rows (column batch_flag) map to cases with ubatch 256; the others
    keep the file's n_ubatch of 512."""
    rows = [r for r in read_dir(default_data_dir()) if r.source == "strix_halo_lhl_llmbench"]
    with (default_data_dir() / "strix_halo_lhl_llmbench.csv").open(newline="") as fh:
        flags = [r["batch_flag"] for r in csv.DictReader(fh)]
    assert len(rows) == len(flags)
    for row, flag in zip(rows, flags):
        assert row.ubatch == (256 if "-b 256" in flag else 512), (row.line, flag)
    case = map_row(next(r for r, f in zip(rows, flags) if "-b 256" in f and r.test == "pp512"))
    assert isinstance(case, Case) and case.ubatch == 256
