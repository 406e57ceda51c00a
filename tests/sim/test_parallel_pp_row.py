"""Pipeline parallel (simlow.sim.pipeline) and llama.cpp's row split (simlow.sim.rowsplit)."""

import json

import numpy as np
import pytest

import simlow
from simlow.errors import SimlowError
from simlow.sim.parallel import HANDOVER_LATENCY_S, LinkKind, peer_link, pp_layer_counts
from simlow.sim.pipeline import micro_batches
from simlow.sim.predict import resolve
from simlow.sim.machine import machine
from simlow.sim.rowsplit import row_phases
from simlow.workload.templates import templates

VLLM = dict(scheme="f16", stack="vllm", prompt=128, gen=32)


def test_stages_and_micro_batches_follow_vllm():
    assert pp_layer_counts(80, 2) == (40, 40)
    assert pp_layer_counts(32, 3) == (11, 11, 10)          # remainder to the stages before the last
    assert pp_layer_counts(61, 4) == (15, 15, 16, 15)
    assert micro_batches(1, 4) == (1,)
    assert micro_batches(5, 2) == (3, 2)
    assert micro_batches(8, 4) == (2, 2, 2, 2)
    with pytest.raises(SimlowError, match="exceeds"):
        pp_layer_counts(4, 8)


def _transfer_s(model, link, rows):
    # hidden state + residual, 16-bit, one point-to-point copy
    lat = link.latency_s if link.latency_s is not None else HANDOVER_LATENCY_S
    return lat + rows * model.hidden_size * 2 * 2 / link.bandwidth_Bps


@pytest.mark.parametrize("tp", [1, 2])
def test_pp_decode_at_batch_1_is_the_stages_in_series_plus_transfers(tp):
    hw = simlow.load_hw("a100-80gb-sxm")
    model = simlow.load_model("llama-2-7b")
    link = peer_link(hw, LinkKind.NVLINK)
    flat = simlow.predict(model, hw, tp=tp, **VLLM)     # the same work on one stage group
    for pp in (2, 4):
        p = simlow.predict(model, hw, tp=tp, pp=pp, **VLLM)
        assert p.decode_s == pytest.approx(flat.decode_s + VLLM["gen"] * (pp - 1) * _transfer_s(model, link, 1),
                                           rel=1e-9)
        chunks = VLLM["prompt"]                          # one prefill chunk of 128 tokens
        assert p.prefill_s == pytest.approx(flat.prefill_s + (pp - 1) * _transfer_s(model, link, chunks), rel=1e-9)


def test_pp_memory_is_per_stage():
    one = simlow.predict("llama-2-70b", "a100-80gb-sxm", **VLLM)
    pp2 = simlow.predict("llama-2-70b", "a100-80gb-sxm", pp=2, **VLLM)
    assert not one.fits and pp2.fits
    d0, d1 = pp2.memory["devices"]
    w = one.memory["weights_bytes"]
    assert d0["weights_bytes"]["ffn"] == pytest.approx(w["ffn"] / 2, rel=1e-6)
    assert d0["weights_bytes"]["embedding"] == w["embedding"] and d1["weights_bytes"]["embedding"] == 0
    assert d1["weights_bytes"]["lm_head"] == w["lm_head"] and d0["weights_bytes"]["lm_head"] == 0
    assert d0["kv_cache_bytes"] == pytest.approx(one.memory["kv_cache_bytes"] / 2, rel=1e-6)
    tp2pp2 = simlow.predict("llama-2-70b", "a100-80gb-sxm", tp=2, pp=2, **VLLM)
    assert len(tp2pp2.memory["devices"]) == 4
    assert sum(d["weight_total_bytes"] for d in tp2pp2.memory["devices"]) == pytest.approx(
        one.memory["weight_total_bytes"], rel=1e-6)


def test_pp_micro_batches_pay_off_only_when_compute_bound():
    one8 = simlow.predict("llama-2-70b", "a100-80gb-sxm", batch=8, **VLLM)
    pp8 = simlow.predict("llama-2-70b", "a100-80gb-sxm", batch=8, pp=2, **VLLM)
    # prefill of 8 x 128 tokens is compute-bound: 2 micro-batches of 4 keep both stages busy,
    # a round is about one stage's half of the work: close to 2x, never above
    assert 1.9 < pp8.prefill_tok_s / one8.prefill_tok_s <= 2.0
    # decode at 4 sequences per micro-batch is memory-bound: each stage reads its weights once per
    # micro-batch, so a round costs what one device's step at batch 8 does
    assert 0.97 < pp8.decode_tok_s / one8.decode_tok_s < 1.05
    # and it reads the weights twice per round: about twice the DRAM energy per token
    assert pp8.energy_j_per_token > 1.5 * one8.energy_j_per_token


def test_pp_energy_adds_the_idle_stage():
    one = simlow.predict("llama-2-7b", "a100-80gb-sxm", **VLLM)
    pp2 = simlow.predict("llama-2-7b", "a100-80gb-sxm", pp=2, **VLLM)
    idle = simlow.load_hw("a100-80gb-sxm").power.idle_w
    # batch 1: one stage works at a time; the other idles over the whole (slightly longer) decode
    assert pp2.energy["decode_j"] >= one.energy["decode_j"] + idle * one.decode_s * (1 - 1e-9)


def _row_setup(model, hw, split, link="pcie", **kw):
    req = resolve(model, hw, split=split, link=link, **kw)
    temps, _ = templates(req.model, req.scheme)
    mach = machine(req.hw, req.stack, req.engine)
    return req, temps, mach, peer_link(req.hw, req.parallel.link)


def test_row_split_on_two_devices_moves_the_expected_bytes():
    req, temps, mach, link = _row_setup("llama-2-7b", "rtx-3090", "row:1,1", scheme="q4_0", prompt=0, gen=4)
    _, dec = row_phases(req, temps, mach, req.parallel, link)
    h, ff, vocab, layers = 4096, 11008, 32000, 32                # llama-2-7b: MHA, kv_dim = hidden
    # (inputs K, outputs M) of each 2-D matmul of a layer: q, k, v, o, gate, up, down
    mats = [(h, h)] * 4 + [(h, ff), (h, ff), (ff, h)]
    q8_1, f32 = 36 / 32, 4
    per_layer = sum(k * q8_1 + 0.5 * m * f32 for k, m in mats)  # activations to the other device, half the result back
    head = h * q8_1 + 0.5 * vocab * f32
    lat = HANDOVER_LATENCY_S                                      # the 3090's PCIe entry gives no latency
    n_matmuls = 7 * layers + 1
    boundary = lat + h * 4 / link.bandwidth_Bps                  # layers 0-16 on device 0, 17-31 on device 1
    expected = 2 * lat * n_matmuls + (layers * per_layer + head) / link.bandwidth_Bps + boundary
    assert np.allclose(dec.comm_s, expected, rtol=1e-9)


def test_row_split_memory_spreads_matmul_rows_and_keeps_layers_and_kv_by_device():
    one = simlow.predict("llama-2-70b", "rtx-3090", scheme="q4_0", gen=16)
    row = simlow.predict("llama-2-70b", "rtx-3090", scheme="q4_0", gen=16, split="row:3,1", link="pcie")
    d0, d1 = row.memory["devices"]
    w = one.memory["weights_bytes"]
    assert d0["weights_bytes"]["ffn"] == pytest.approx(0.75 * w["ffn"], rel=1e-6)
    assert d1["weights_bytes"]["lm_head"] == pytest.approx(0.25 * w["lm_head"], rel=1e-6)
    # layers by -ts as a layer split places them: 61 of 80 on device 0 (layer i where i / 81 falls)
    assert d0["weights_bytes"]["norm"] == pytest.approx(61 / 80 * w["norm"], rel=1e-3)
    assert d0["kv_cache_bytes"] == pytest.approx(61 / 80 * one.memory["kv_cache_bytes"], rel=1e-6)
    assert d1["weights_bytes"]["embedding"] == w["embedding"] and d0["weights_bytes"]["embedding"] == 0


def test_row_split_on_one_device_is_one_device_and_never_beats_halving():
    one = simlow.predict("llama-2-70b", "rtx-3090", scheme="q4_0", gen=16)
    solo = simlow.predict("llama-2-70b", "rtx-3090", scheme="q4_0", gen=16, split="row:1,0", link="pcie")
    assert solo.decode_s == pytest.approx(one.decode_s, rel=1e-12)   # no rows elsewhere: no copies
    row = simlow.predict("llama-2-70b", "rtx-3090", scheme="q4_0", gen=16, split="row:1,1", link="pcie")
    assert one.decode_s / 2 < row.decode_s
    assert any(e.op == "row_copies" and e.duration_s > 0 for e in row.timeline)


def test_impossible_splits_are_errors_and_cli_exits_2(capsys):
    from simlow.cli import main

    with pytest.raises(SimlowError, match="attention heads"):
        simlow.predict("llama-2-7b", "a100-80gb-sxm", tp=3, **VLLM)
    with pytest.raises(SimlowError, match="exceeds"):
        simlow.predict("llama-3.2-1b", "a100-80gb-sxm", pp=32, **VLLM)
    with pytest.raises(SimlowError, match="not both"):
        simlow.predict("llama-2-7b", "a100-80gb-sxm", pp=2, split="row:1,1", **VLLM)
    with pytest.raises(SimlowError, match="roofline only above batch 1"):
        simlow.predict("llama-2-7b", "a100-80gb-sxm", pp=2, batch=2, fidelity="des", **VLLM)
    with pytest.raises(SimlowError, match="roofline only"):
        simlow.predict("llama-2-7b", "rtx-3090", split="row:1,1", link="pcie", fidelity="des")
    base = ["predict", "--model", "llama-2-70b", "--hw", "a100-80gb-sxm", "--scheme", "f16", "--gen", "8"]
    for bad in (["--pp", "0"], ["--pp", "81"], ["--tp", "3"], ["--pp", "2", "--split", "row:1,1"]):
        assert main(base + bad) == 2
    capsys.readouterr()
    assert main(base + ["--stack", "vllm", "--tp", "2", "--pp", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert len(d["memory"]["devices"]) == 4 and "pipeline parallel 2" in d["memory"]["parallel"]
    assert main(base + ["--split", "row:1,1", "--link", "pcie"]) == 0
    out = capsys.readouterr().out
    assert "device 1" in out and "row split 1:1" in out


@pytest.mark.parametrize("hw, kw", [("a100-80gb-sxm", dict(pp=2, batch=8, stack="vllm", scheme="f16")),
                                    ("a100-80gb-sxm", dict(pp=2, tp=2, batch=3, stack="vllm", scheme="f16")),
                                    ("rtx-3090", dict(split="row:1,1", link="pcie", scheme="q4_0", batch=4))],
                         ids=["pp2-b8", "tp2-pp2-b3", "row-b4"])
def test_timeline_adds_up_to_the_wall_time_and_power_stays_under_every_cap(hw, kw):
    p = simlow.predict("llama-2-70b", hw, prompt=300, gen=20, **kw)
    # the ops' and the communication's shares of each round add up to the round (stack step overhead 0)
    assert sum(e.duration_s for e in p.timeline) == pytest.approx(p.prefill_s + p.decode_s, rel=1e-9)
    devices = len(p.memory["devices"])
    cap = simlow.load_hw(hw).power.tdp_w
    for phase in ("prefill", "decode"):
        assert p.energy[f"{phase}_avg_w"] <= devices * cap * (1 + 1e-9)


@pytest.mark.parametrize("kw", [dict(pp=2), dict(tp=2, pp=2)], ids=["pp2", "tp2-pp2"])
def test_des_runs_pp_at_batch_1_never_faster_than_the_roofline(kw):
    roof = simlow.predict("llama-2-70b", "a100-80gb-sxm", **VLLM, **kw)
    des = simlow.predict("llama-2-70b", "a100-80gb-sxm", fidelity="des", **VLLM, **kw)
    assert des.decode_tok_s <= roof.decode_tok_s * (1 + 1e-9)
    assert des.prefill_tok_s <= roof.prefill_tok_s * (1 + 1e-9)
    assert des.memory == roof.memory
    # the sends (and a TP group's all-reduces) see no contention: the same seconds in both
    comm = [sum(e.duration_s for e in p.timeline if e.op == "stage_transfers") for p in (roof, des)]
    assert comm[0] > 0 and comm[1] == pytest.approx(comm[0], rel=1e-6)
    assert des.energy["decode_j"] == pytest.approx(roof.energy["decode_j"], rel=1e-4)
