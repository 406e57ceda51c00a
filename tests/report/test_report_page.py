"""The whole page: self-contained, re-renderable from saved JSON, and drawn by a real browser."""

import json
import re
import subprocess

import pytest

import simlow
from simlow.errors import SimlowError
from simlow.report.png import FLAGS, find_chromium

FIGURES = ("fig-memory", "fig-roofline", "fig-timeline", "fig-pareto", "fig-quant", "fig-claims")


@pytest.fixture
def page_path(tmp_path, fake_prediction, fake_sweep, fake_quant, fake_verdicts):
    (tmp_path / "pred.json").write_text(json.dumps(fake_prediction))
    (tmp_path / "sweep.jsonl").write_text("".join(json.dumps(r) + "\n" for r in fake_sweep))
    out = tmp_path / "report.html"
    simlow.report(out, prediction=tmp_path / "pred.json", sweep=tmp_path / "sweep.jsonl", quant=fake_quant,
                  claims=fake_verdicts, title="toy <report>")
    return out


def test_page_is_self_contained_and_carries_its_data(page_path, fake_prediction):
    page = page_path.read_text()
    assert not re.search(r"<script[^>]+src=", page)          # nothing loaded from anywhere
    assert "<title>toy &lt;report&gt;</title>" in page
    for fig in FIGURES:
        assert f'id="{fig}"' in page
    data = re.search(r'<script type="application/json" id="simlow-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(data)["prediction"] == fake_prediction


def test_saved_json_rerenders_to_the_same_page(tmp_path, fake_prediction):
    (tmp_path / "p.json").write_text(json.dumps(fake_prediction))
    assert simlow.report(prediction=tmp_path / "p.json") == simlow.report(prediction=fake_prediction)


def test_nothing_to_report_and_bad_files():
    with pytest.raises(SimlowError, match="nothing to report"):
        simlow.report()
    with pytest.raises(SimlowError, match="cannot read"):
        simlow.report(sweep="/nonexistent/rows.jsonl")


@pytest.mark.skipif(find_chromium() is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_page_renders_in_headless_chromium_without_js_errors(page_path, tmp_path):
    cmd = [find_chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=10000", "--dump-dom", page_path.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert not [c for c in console if "Uncaught" in c or "Error" in c], console
    dom = run.stdout
    for fig in FIGURES:
        # plotly replaces the empty div's content with its plot container when it draws.
        m = re.search(rf'<div id="{fig}"[^>]*>(.{{0,400}})', dom, re.S)
        assert m and 'class="plot-container plotly"' in m.group(1), fig
    assert dom.count('class="main-svg"') >= len(FIGURES)


def _dom(page, tmp_path) -> str:
    cmd = [find_chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile-labels'}", "--virtual-time-budget=10000",
           "--dump-dom", page.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.skipif(find_chromium() is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_browser_draws_the_labels(tmp_path, fake_sweep, fake_quant, fake_verdicts):
    """What the browser draws: layer-group rows with range and count, the human summary line,
    Pareto labels and the whole claims headers and ids."""
    p = simlow.predict("llama-3-8b", "rtx-4090", "q4_k_m", prompt=64, gen=4)
    page = tmp_path / "labels.html"
    simlow.report(page, prediction=p, sweep=fake_sweep, quant=fake_quant, claims=fake_verdicts)
    dom = _dom(page, tmp_path)
    timeline = dom[dom.index('id="fig-timeline"'):]
    assert "layers0.attn_q · layers 0-3,6,9,12,15,18,…,27-31 (x16)" in timeline
    assert "layers1.ffn_down · layers 4-5,7-8,10-11,…,25-26 (x16)" in timeline
    assert "bars each sum a group of identical layers" in timeline
    assert re.search(r"prefill [\d,.]+ tok/s \(compute-bound\); decode [\d,.]+ tok/s \(memory-bound\)", dom)
    pareto = dom[dom.index('id="fig-pareto"'):dom.index('id="fig-quant"')]
    assert all(re.search(rf'class="textpoint"[^>]*>.*?>{d}<', pareto, re.S) for d in ("d0", "d1", "d3", "d4"))
    claims = dom[dom.index('id="fig-claims"'):]
    for header in ("id", "hard bound", "simlow", "why"):
        assert f'<tspan style="font-weight:bold">{header}</tspan>' in claims, header
    for text in ("m4-decode", "fits-24gb", "decode speed", "100 tok/s", "61.2 tok/s"):
        assert f">{text}<" in claims, text
