"""``simlow design sweep`` / ``simlow.lm.sweep.design_sweep``: one row per (design, hardware),
quality measured once per design, speed, energy and (NPU designs) area per hardware, and a
Pareto page of quality vs energy vs area."""

from __future__ import annotations

import json

import pytest

from simlow.cli import main
from simlow.lm.sweep import design_sweep
from simlow.npu.design import evaluate
from simlow.npu.shipped import SHIPPED

TOKENS = [504, 3458, 282, 4649, 314, 7042, 30, 378, 3458, 282, 7526, 314]


@pytest.fixture(scope="module")
def rows():
    return design_sweep(["float", "q8_0"], ("rtx-4090", "edge-npu-28nm"), tokens=TOKENS, n_tokens=12, ctx=12)


def test_rows_per_design_and_hardware_with_quality_shared_across_hardware(rows):
    assert [(r["design"], r["hw"]) for r in rows] == [("float", "rtx-4090"), ("float", "edge-npu-28nm"),
                                                      ("q8_0", "rtx-4090"), ("q8_0", "edge-npu-28nm")]
    float_row, q8 = rows[0], rows[2]
    assert float_row["kl_mean"] == 0 and float_row["top1_agreement"] == 1
    assert float_row["perplexity"] == float_row["reference_perplexity"] == q8["reference_perplexity"]
    assert q8["kl_mean"] > 0
    for a, b in ((rows[0], rows[1]), (rows[2], rows[3])):
        assert all(a[k] == b[k] for k in ("perplexity", "kl_mean", "top1_agreement"))


def test_area_only_on_an_npu_design_and_it_is_the_cost_models(rows):
    assert "area_mm2" not in rows[0]
    assert rows[1]["area_mm2"] == evaluate(SHIPPED["edge-npu-28nm"]).total_area_mm2
    assert rows[1]["decode_tok_s"] != rows[0]["decode_tok_s"]


def test_report_page_draws_the_design_front(rows):
    from simlow.report import report

    page = report(None, designs=rows)
    assert 'id="fig-designs-pareto"' in page and "mean KL to float" in page


def test_cli_writes_rows_and_page(tmp_path, capsys):
    tok = tmp_path / "t.txt"
    tok.write_text(" ".join(map(str, TOKENS)))
    out, html = tmp_path / "rows.jsonl", tmp_path / "page.html"
    assert main(["design", "sweep", "--tokens", str(tok), "--n-tokens", "12", "--ctx", "12",
                 "--designs", "float,q8_0", "--out", str(out), "--html", str(html), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [json.loads(line) for line in out.read_text().splitlines()] == printed
    assert [r["design"] for r in printed] == ["float", "q8_0"] and html.stat().st_size > 0


def test_cli_unknown_design_exits_2(tmp_path, capsys):
    tok = tmp_path / "t.txt"
    tok.write_text(" ".join(map(str, TOKENS)))
    assert main(["design", "sweep", "--tokens", str(tok), "--designs", "float,nope"]) == 2
    assert "nope" in capsys.readouterr().err
