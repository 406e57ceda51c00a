import json

import numpy as np
import pytest

import simlow
from simlow.errors import SimlowError
from simlow.report import (claims_figure, memory_figure, pareto_figure, pareto_mask, quant_error_figure,
                           roofline_figure, timeline_figure)
from simlow.report.build import device_roofs, roofline_data
from simlow.report.roofline import roof
from simlow.report.style import BOUND_COLOURS, VERDICT_COLOURS

OBJ = (("decode_tok_s", "max"), ("energy_j_per_token", "min"), ("area_mm2", "min"))


def test_pareto_mask_hand_worked(fake_sweep):
    # d2 is beaten everywhere by d1; d1 and d3 are equal, so both stay; the errored row takes no part.
    assert pareto_mask(fake_sweep, OBJ).tolist() == [True, True, False, True, True, False]


def test_pareto_mask_two_objectives_and_bad_sense():
    rows = [{"a": 1.0, "b": 1.0}, {"a": 2.0, "b": 2.0}, {"a": 2.0, "b": 1.0}]
    assert pareto_mask(rows, (("a", "max"), ("b", "min"))).tolist() == [False, False, True]
    assert pareto_mask(rows, (("a", "max"), ("b", "max"))).tolist() == [False, True, False]
    with pytest.raises(SimlowError, match="sense"):
        pareto_mask(rows, (("a", "up"), ("b", "min")))


def test_pareto_figure_marks_the_front(fake_sweep):
    fig = pareto_figure(fake_sweep)
    fronts = [t for t in fig.data if t.name == "Pareto front"]
    assert len(fronts) == 2                                   # tok/s vs energy and tok/s vs area
    assert sorted(fronts[0].x) == [5.0, 10.0, 20.0, 20.0]
    assert "design: d1" in "".join(fronts[0].text)
    assert "4 of 6 points" in fig.layout.title.text


def test_pareto_needs_two_objectives():
    with pytest.raises(SimlowError, match="at least two"):
        pareto_figure([{"decode_tok_s": 1.0}])


def test_roof_is_min_of_peak_and_bandwidth():
    assert roof(100e12, 1e12, 10.0) == 10e12
    assert roof(100e12, 1e12, 1e3) == 100e12


def test_roofline_places_ops_at_intensity_and_attained_rate(fake_prediction):
    p = fake_prediction
    fig = roofline_figure(roofline_data(p, {"device": "toy", "bandwidth_Bps": 1e12, "peak_ops": p["peak_ops"]}))
    roofs = [t for t in fig.data if t.mode == "lines"]
    assert {t.name.split()[1] for t in roofs} == {"fp16", "int8"}
    fp16 = next(t for t in roofs if "fp16" in t.name)
    assert max(fp16.y) == 100e12 and 100.0 in fp16.x          # ridge at 100 ops/B
    pre = next(t for t in fig.data if t.name == "prefill ops: compute-bound")
    assert list(pre.x) == [2000.0] * 3 and list(pre.y) == pytest.approx([100e12] * 3)   # at the compute roof
    dec = next(t for t in fig.data if t.name == "decode ops: memory-bound")
    assert list(dec.x) == [2.0] * 4 and list(dec.y) == pytest.approx([2e12] * 4)        # on the bandwidth roof
    assert dec.marker.color == BOUND_COLOURS["memory"]
    assert "1 ops without arithmetic" in fig.layout.title.text


def test_timeline_one_panel_per_phase_bars_from_start(fake_prediction):
    fig = timeline_figure(fake_prediction["timeline"])
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0].startswith("prefill: 3 ops") and titles[1].startswith("decode: 5 ops")
    mem = next(t for t in fig.data if t.name == "memory-bound")
    assert list(mem.base) == pytest.approx([0, 1000, 2000, 3000]) and list(mem.x) == pytest.approx([1000] * 4)
    assert mem.y[0] == "layers0.ffn"                                   # one row per op
    alt = timeline_figure([{"name": "x", "start_s": 1.0, "end_s": 3.0, "bound": "link", "lane": "pcie"}])
    assert list(alt.data[0].x) == [2e6] and list(alt.data[0].y) == ["pcie"]
    with pytest.raises(SimlowError, match="end_s or duration_s"):
        timeline_figure([{"name": "x", "start_s": 2.0, "end_s": 1.0}])


def test_memory_figure_stacks_parts_in_gib(fake_prediction):
    fig = memory_figure([fake_prediction])
    by_name = {t.name: t for t in fig.data}
    assert by_name["weights: ffn"].y[0] == pytest.approx(0.6e9 / 2**30)
    assert by_name["kv cache"].y[0] == pytest.approx(0.5e9 / 2**30)
    assert by_name["capacity"].y[0] == 16e9 / 2**30 and by_name["usable capacity"].y[0] == 15e9 / 2**30
    assert fig.layout.yaxis.title.text == "GiB (2^30 bytes)"
    with pytest.raises(SimlowError, match="missing kv_cache_bytes"):
        memory_figure({"memory": {"weights_bytes": {}}})


def test_memory_figure_of_a_real_fit():
    r = simlow.fit("llama-2-7b", "h100-sxm", "q4_0", ctx=2048)
    fig = memory_figure([r.to_dict()])
    weights = sum(t.y[0] for t in fig.data if t.name.startswith("weights:"))
    assert weights == pytest.approx(r.footprint.weight_total_bytes / 2**30)


def test_quant_error_one_panel_per_metric(fake_quant):
    fig = quant_error_figure(fake_quant)
    assert [a.text for a in fig.layout.annotations] == ["rmse", "sqnr_db"]
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type != "log"
    assert list(fig.data[0].text) == ["q4_0", "q8_0", "tq1_0"]


def test_claims_table_coloured_by_verdict(fake_verdicts):
    fig = claims_figure(fake_verdicts)
    table = fig.data[0]
    assert table.header.values[0] == "<b>id</b>"
    assert table.cells.fill.color[0][0] == VERDICT_COLOURS["impossible"]
    assert "1 impossible" in fig.layout.title.text and "1 no verdict" in fig.layout.title.text


def test_figures_are_pure_functions_of_json(fake_prediction, fake_sweep):
    p = fake_prediction
    again = json.loads(json.dumps(p))
    assert timeline_figure(p["timeline"]).to_json() == timeline_figure(again["timeline"]).to_json()
    assert np.array_equal(pareto_mask(json.loads(json.dumps(fake_sweep)), OBJ), pareto_mask(fake_sweep, OBJ))


def test_real_prediction_on_its_device_roofs():
    p = simlow.predict("llama-2-7b", "h100-sxm", "q4_0", stack="ideal", prompt=64, gen=8).to_dict()
    fig = roofline_figure(roofline_data(p, device_roofs("h100-sxm", p["engine"])))
    assert any(t.mode == "lines" and t.name.startswith("roof int8 (1978.9") for t in fig.data)
    placed = sorted((x, y) for t in fig.data if t.mode == "markers" for x, y in zip(t.x, t.y))
    expected = sorted((o["flops"] / o["bytes"], o["flops"] / o["duration_s"])
                      for o in p["timeline"] if o["flops"] > 0 and o["bytes"] > 0)
    assert len(placed) == len(expected) > 10
    assert [c for pt in placed for c in pt] == pytest.approx([c for pt in expected for c in pt])
