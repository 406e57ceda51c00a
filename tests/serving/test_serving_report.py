"""Serving figures in the HTML report: drawn from the results' own numbers, nothing else."""

import json

import pytest

from simlow.cli import main
from simlow.errors import SimlowError
from simlow.report import report
from simlow.report.serving import kv_timeline_figure, latency_cdf_figure, throughput_rate_figure
from simlow.serving import simulate_serving


@pytest.fixture(scope="module")
def runs():
    return [simulate_serving("llama-2-7b", "h100-sxm", arrivals="poisson", rate=rate, requests=60,
                             prompt_len=256, output_len=32, seed=1).to_dict() for rate in (20.0, 5.0)]


def test_cdf_lines_are_the_results_quantiles(runs):
    fig = latency_cdf_figure(runs)
    ttft = [t for t in fig.data if t.xaxis == "x"]
    assert len(fig.data) == 3 * len(runs) and len(ttft) == len(runs)
    assert list(ttft[0].x) == pytest.approx([v * 1e3 for v in runs[0]["cdf"]["ttft_s"]])
    assert list(ttft[0].y) == pytest.approx([q / 100 for q in runs[0]["cdf"]["quantile_pct"]])
    assert ttft[0].line.color == [t for t in fig.data if t.xaxis == "x3"][0].line.color   # one colour a run


def test_throughput_curve_is_sorted_by_offered_rate(runs):
    fig = throughput_rate_figure(runs)
    tok = fig.data[0]
    assert list(tok.x) == [5.0, 20.0]
    assert list(tok.y) == [runs[1]["throughput_output_tok_s"], runs[0]["throughput_output_tok_s"]]
    assert list(fig.data[2].y) == pytest.approx([runs[1]["ttft_s"]["p99"] * 1e3, runs[0]["ttft_s"]["p99"] * 1e3])


def test_kv_timeline_is_the_occupancy_series(runs):
    fig = kv_timeline_figure(runs[:1])
    occ, running = fig.data
    assert list(occ.x) == runs[0]["series"]["time_s"]
    assert list(occ.y) == pytest.approx([100 * v for v in runs[0]["series"]["kv_occupancy"]])
    assert list(running.y) == runs[0]["series"]["running"]


def test_report_page_has_the_rate_curve_only_for_several_rates(runs, tmp_path):
    page = report(tmp_path / "a.html", serving=runs)
    assert all(i in page for i in ("fig-serving-rate", "fig-serving-cdf", "fig-serving-kv"))
    one = report(serving=runs[0])
    assert "fig-serving-cdf" in one and "fig-serving-rate" not in one


def test_a_result_without_its_series_is_named(runs):
    bad = {k: v for k, v in runs[0].items() if k != "series"}
    with pytest.raises(SimlowError, match="serving result 0: missing series"):
        latency_cdf_figure([bad])


def test_cli_rates_and_report_round_trip(tmp_path, capsys):
    html = tmp_path / "s.html"
    assert main(["serving", "--model", "llama-2-7b", "--hw", "h100-sxm", "--rates", "4,8", "--requests", "30",
                 "--prompt-len", "128", "--output-len", "16", "--report", str(html), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["config"]["rate"] for r in rows] == [4.0, 8.0] and "fig-serving-rate" in html.read_text()
    saved = tmp_path / "runs.json"
    saved.write_text(json.dumps(rows))
    assert main(["report", "-o", str(tmp_path / "r.html"), "--serving", str(saved)]) == 0
    assert "fig-serving-kv" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("rates", ["4,x", "0,4", ","])
def test_cli_bad_rates_exit_2(rates, capsys):
    assert main(["serving", "--model", "llama-2-7b", "--hw", "h100-sxm", "--rates", rates]) == 2
    assert "--rates" in capsys.readouterr().err
