"""What a reader sees in the report: layer groups labelled with their range and repeat count,
a summary line in human units with its bounds, labelled Pareto points, a whole claims table
in human units, and only error metrics on the quantization panel."""

import pytest

import simlow
from simlow.report import claims_figure, pareto_figure, quant_error_figure, timeline_figure
from simlow.report.build import headline, prediction_sections
from simlow.report.timeline import layer_span, op_label, short_span


def test_layer_span_and_labels():
    assert layer_span([0, 1, 2, 3, 6, 9, 10]) == "0-3,6,9-10"
    assert op_label({"op": "layers0.attn_q", "layers": list(range(32))}) == "layers0.attn_q · layers 0-31 (x32)"
    assert op_label({"op": "token_embd"}) == "token_embd"
    long = layer_span([0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31])
    assert long == "0-3,6,9,12,15,18,21,24,27-31" and short_span(long, 20) == "0-3,6,9,12,…,27-31"


def test_real_timeline_rows_carry_layer_range_and_count():
    p = simlow.predict("llama-3-8b", "rtx-4090", "q4_k_m", prompt=64, gen=4).to_dict()
    groups = {e["op"].split(".")[0]: e["layers"] for e in p["timeline"] if e["layers"]}
    assert sorted(groups) == ["layers0", "layers1"]
    assert sorted(groups["layers0"] + groups["layers1"]) == list(range(32))      # every layer, once
    fig = timeline_figure(p["timeline"])
    rows = {y for t in fig.data for y in t.y}
    for name, layers in groups.items():
        assert f"{name}.attn_q · layers " in " ".join(rows) and f"(x{len(layers)})" in " ".join(rows)
    hover = next(c[3] for t in fig.data for c in t.customdata if c[0] == "layers1.ffn_down")
    assert f"layers {layer_span(groups['layers1'])}: 16 identical layers, summed" in hover
    assert "token_embd" in rows                                                 # one op: its name alone
    assert "bars each sum a group of identical layers" in fig.layout.annotations[0].text


def test_summary_line_is_human_with_bounds(fake_prediction):
    line = headline(fake_prediction)
    assert line == ("prefill 1,234.5 tok/s (compute-bound); decode 250.00 tok/s (memory-bound); "
                    "time to first token 410.00 ms; energy 0.900 J/token (modelled); fits in memory")
    secs = prediction_sections(fake_prediction, None)
    assert secs[0].notes == (line,) and "prefill_tok_s" not in line


def test_pareto_front_points_are_labelled(fake_sweep):
    fig = pareto_figure(fake_sweep)
    front = next(t for t in fig.data if t.name == "Pareto front")
    assert front.mode == "markers+text" and front.texttemplate == "%{customdata}"
    assert sorted(front.customdata) == ["d0", "d1", "d3", "d4"]                  # the varying setting
    rows = [{"scheme": s, "batch": b, "hw": "m4-max", "decode_tok_s": t, "energy_j_per_token": e}
            for s, b, t, e in (("q4_0", 1, 10.0, 1.0), ("q8_0", 1, 8.0, 2.0), ("q4_0", 4, 30.0, 0.5))]
    labels = next(t for t in pareto_figure(rows).data if t.name == "Pareto front").customdata
    assert list(labels) == ["q4_0 · batch 4"]                                    # hw does not vary: left out


def test_claims_table_is_whole_and_in_human_units():
    verdicts = [
        {"claim": "moe-35b-fits-16gb-with-expert-offload", "candidate": "qwen3-30b-a3b / q4_k_m / rtx-5060ti-16gb",
         "metric": "fits", "claimed": True, "bound": 15.36e9, "simulated": 2.866e9, "verdict": "plausible",
         "claimed_over_simulated": None, "sentence": "fits: 2.67 GiB against 14.3 GiB usable on rtx-5060ti-16gb"},
        {"claim": "fp32-70b-over-280gb", "candidate": "llama-2-70b / f32", "metric": "memory_bytes",
         "claimed": {"sense": "at_least", "low": 280e9, "high": None}, "bound": 2.304e10, "simulated": 2.304e10,
         "claimed_over_simulated": 1.0, "verdict": "plausible", "sentence": "x"},
        {"claim": "m4-bw", "candidate": "m4-max", "metric": "memory_bandwidth", "claimed": 546e9, "bound": 546e9,
         "simulated": 546e9, "verdict": "plausible", "sentence": "x"},
        {"claim": "gemma-decode", "candidate": "gemma", "metric": "decode_tok_s", "claimed": 104.0, "bound": 141.8,
         "simulated": 96.1, "claimed_over_simulated": 1.0822, "verdict": "plausible", "sentence": "x"},
    ]
    table = claims_figure(verdicts).data[0]
    header = [h.removeprefix("<b>").removesuffix("</b>") for h in table.header.values]
    assert header == ["claim", "configuration", "metric", "claimed", "hard bound", "simlow", "claimed / simlow",
                      "verdict", "why"]
    col = {h: tuple(v) for h, v in zip(header, table.cells.values)}
    assert col["claim"][0] == "moe-35b-fits-16gb-with-expert-offload"            # whole, as given
    assert col["why"][0] == verdicts[0]["sentence"]
    assert col["claimed"] == ("yes", "at least 260.77 GiB", "546 GB/s", "104 tok/s")
    assert col["hard bound"] == ("14.31 GiB", "21.46 GiB", "546 GB/s", "141.8 tok/s")
    assert col["claimed / simlow"] == ("", "1x", "", "1.08x")
    assert col["metric"] == ("fits", "memory", "memory bandwidth", "decode speed")
    assert not any("e+" in str(c) for c in table.cells.values[3:6] for c in c)
    widths = dict(zip(header, table.columnwidth))                                # the id column fits the id
    assert widths["claim"] >= widths["verdict"] and widths["claim"] > 37 * 5


def test_quant_panel_plots_only_error_metrics():
    doc = {"rows": [{"format": "q4_0", "bits_per_weight": 4.5, "tensors": 36, "skipped": 0, "mse": 3e-6,
                     "sqnr_db": 20.9, "max_err": 0.1, "ip_bias": 0.01, "ip_var": 0.2},
                    {"format": "q8_0", "bits_per_weight": 8.5, "tensors": 36, "skipped": 0, "mse": 1e-7,
                     "sqnr_db": 45.0, "max_err": 0.03, "ip_bias": -0.001, "ip_var": 0.01}],
            "kurtosis": 46.2}
    fig = quant_error_figure(doc)
    assert [a.text for a in fig.layout.annotations] == ["mse", "sqnr_db", "max_err", "ip_bias", "ip_var"]
    assert "not plotted, not errors: tensors, skipped" in fig.layout.title.text
    assert all(max(t.y) < 46 for t in fig.data)                                  # no counts on an error axis
    assert fig.layout.yaxis2.title.text == "SQNR (dB)"
    with pytest.raises(simlow.SimlowError if hasattr(simlow, "SimlowError") else Exception, match="none of"):
        quant_error_figure([{"format": "x", "bits_per_weight": 4, "tensors": 3}])
