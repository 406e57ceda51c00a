"""Multi-device predictions (simlow.sim.parallel): collectives, per-device memory, TP and layer split."""

import numpy as np
import pytest

import simlow
from simlow.errors import SimlowError
from simlow.sim.parallel import (LinkKind, Parallel, PeerLink, allreduce_s, handover_s, layer_counts,
                                 parallel_from, peer_link)

NVL = PeerLink(LinkKind.NVLINK, 300e9, "nvlink")
PCI = PeerLink(LinkKind.PCIE, 31.5e9, "pcie")


def test_allreduce_small_message_is_nccl_ring_ll_latency():
    # 16 KiB over 4 GPUs: LL ring, 6.6 us + 2*3 steps * 0.6 us + bytes / (bus bw * 0.5)
    nbytes = 16384
    bus = 300e9 * 4 / 6
    assert allreduce_s(nbytes, 4, NVL) == pytest.approx(6.6e-6 + 6 * 0.6e-6 + nbytes / (0.5 * bus))
    assert allreduce_s(nbytes, 2, PCI) == pytest.approx(6.6e-6 + 2 * 1.0e-6 + nbytes / (0.5 * 31.5e9 * 2 / 2))


def test_allreduce_large_message_takes_simple_protocol_at_full_bus_bandwidth():
    nbytes = 1e9
    t = allreduce_s(nbytes, 8, NVL)
    assert t == pytest.approx(8.4e-6 + 14 * 3.4e-6 + nbytes * 14 / 8 / 300e9)
    assert allreduce_s(nbytes, 1, NVL) == 0.0


def test_allreduce_grows_with_devices_and_bytes():
    sizes = np.array([1e3, 1e5, 1e7])
    t2, t4 = allreduce_s(sizes, 2, NVL), allreduce_s(sizes, 4, NVL)
    assert np.all(np.diff(t2) > 0) and np.all(t4 > t2)


def test_handover_is_latency_plus_bytes_over_link():
    assert handover_s(31.5e6, PCI) == pytest.approx(10e-6 + 1e-3)


def test_layer_counts_follow_ratios_and_cover_every_layer():
    # the output counts as layer 80 of 81: layer i goes where i / 81 falls (llama-model.cpp)
    assert layer_counts(80, (3, 1)) == (61, 19)
    assert layer_counts(80, (1, 1)) == (41, 39)
    assert layer_counts(32, (1, 1, 1)) == (11, 11, 10)
    assert sum(layer_counts(61, (2.5, 1, 0.5))) == 61
    assert layer_counts(32, (1, 0)) == (32, 0)


def test_bad_parallel_settings_are_errors():
    for kw in ({"tp": 0}, {"tp": 2, "split": (1, 1)}, {"split": (1,)}, {"split": (0, 0)}, {"link": "infiniband"}):
        with pytest.raises(SimlowError):
            Parallel(**kw)
    with pytest.raises(SimlowError, match="expected layer:R1,R2"):
        parallel_from(split="column:1,1")
    assert parallel_from(split="row:1,1").row
    assert parallel_from(tp=1) is None


def test_peer_links_come_from_the_hwspec():
    a100 = simlow.load_hw("a100-80gb-sxm")
    assert peer_link(a100, LinkKind.NVLINK).bandwidth_Bps == 300e9
    assert peer_link(a100, LinkKind.PCIE).bandwidth_Bps == a100.host_link().bandwidth_Bps
    assert a100.host_link().name == "pcie"          # the peer link is not the offload link
    assert peer_link(simlow.load_hw("h100-sxm"), LinkKind.NVLINK).bandwidth_Bps == 450e9
    with pytest.raises(SimlowError, match="no peer link"):
        peer_link(simlow.load_hw("rtx-4090"), LinkKind.NVLINK)


KW = dict(scheme="f16", stack="lmdeploy", prompt=128, gen=64)


def test_tp1_is_the_single_device_prediction():
    one = simlow.predict("llama-2-7b", "a100-80gb-sxm", **KW)
    tp1 = simlow.predict("llama-2-7b", "a100-80gb-sxm", tp=1, **KW)
    assert one.to_dict() == tp1.to_dict()


def test_tensor_parallel_splits_memory_and_adds_allreduces():
    one = simlow.predict("llama-2-70b", "a100-80gb-sxm", **KW)
    tp4 = simlow.predict("llama-2-70b", "a100-80gb-sxm", tp=4, **KW)
    assert not one.fits and tp4.fits
    devices = tp4.memory["devices"]
    assert len(devices) == 4
    assert sum(d["weight_total_bytes"] for d in devices) == pytest.approx(one.memory["weight_total_bytes"], rel=1e-6)
    assert tp4.memory["kv_cache_bytes"] == pytest.approx(one.memory["kv_cache_bytes"] / 4, rel=1e-6)
    # faster than one device, slower than 4x (all-reduces and unsplit launch overheads)
    assert one.decode_tok_s < tp4.decode_tok_s < 4 * one.decode_tok_s
    pcie = simlow.predict("llama-2-70b", "a100-80gb-sxm", tp=4, link="pcie", **KW)
    assert pcie.decode_tok_s < tp4.decode_tok_s and pcie.prefill_tok_s < tp4.prefill_tok_s


def test_kv_heads_fewer_than_devices_are_replicated():
    one = simlow.predict("llama-3-70b", "h100-sxm", **KW)          # 8 KV heads
    tp16 = simlow.predict("llama-3-70b", "h100-sxm", tp=16, **KW)
    assert tp16.memory["kv_cache_bytes"] == pytest.approx(one.memory["kv_cache_bytes"] / 8, rel=1e-6)


def test_layer_split_holds_layers_by_ratio_and_runs_in_sequence():
    one = simlow.predict("llama-2-70b", "a100-80gb-sxm", **KW)
    split = simlow.predict("llama-2-70b", "a100-80gb-sxm", split="layer:1,1", **KW)
    d0, d1 = split.memory["devices"]
    assert d0["weights_bytes"]["ffn"] == pytest.approx(d1["weights_bytes"]["ffn"] * 41 / 39, rel=1e-6)
    assert d0["weights_bytes"]["lm_head"] == 0 and d1["weights_bytes"]["lm_head"] > 0
    assert split.fits and not one.fits
    # same work one device after another, plus one handover per step: slightly slower
    assert split.decode_tok_s < one.decode_tok_s
    assert split.decode_tok_s > 0.98 * one.decode_tok_s
    lopsided = simlow.predict("llama-2-70b", "a100-80gb-sxm", split="layer:3,1", **KW)
    assert not lopsided.fits and lopsided.shortfall_bytes > 0


@pytest.mark.parametrize("kw", [dict(tp=4), dict(tp=2, link="pcie"), dict(split="layer:3,1")],
                         ids=["tp4-nvlink", "tp2-pcie", "split-3-1"])
def test_des_simulates_the_group_never_faster_than_the_roofline(kw):
    roof = simlow.predict("llama-2-70b", "a100-80gb-sxm", **KW, **kw)
    des = simlow.predict("llama-2-70b", "a100-80gb-sxm", fidelity="des", **KW, **kw)
    assert des.decode_tok_s <= roof.decode_tok_s * (1 + 1e-9)
    assert des.prefill_tok_s <= roof.prefill_tok_s * (1 + 1e-9)
    assert des.memory == roof.memory and des.fits == roof.fits
    comm = "handover" if "split" in kw else "all_reduce"
    ops = {e.op for e in des.timeline if e.duration_s > 0}
    assert comm in ops
    assert comm in {e.op for e in roof.timeline if e.duration_s > 0}
    roof_comm = sum(e.duration_s for e in roof.timeline if e.op == comm)
    assert sum(e.duration_s for e in des.timeline if e.op == comm) == pytest.approx(roof_comm, rel=1e-6)
    # no contention on the group's fabric: the DES's communication equals the roofline's
    note = next(n for n in roof.notes if "communication" in n)
    assert note in des.notes


def test_multi_device_refuses_offload_and_a_missing_link():
    with pytest.raises(SimlowError, match="one device only"):
        simlow.predict("llama-2-7b", "a100-80gb-sxm", tp=2, offload="device_layers=10", **KW)
    with pytest.raises(SimlowError, match="no peer link"):
        simlow.predict("llama-2-7b", "rtx-4090", tp=2)
    assert simlow.predict("llama-2-7b", "rtx-4090", tp=2, link="pcie").decode_tok_s > 0


def test_group_energy_counts_every_device():
    one = simlow.predict("llama-2-7b", "a100-80gb-sxm", **KW)
    tp2 = simlow.predict("llama-2-7b", "a100-80gb-sxm", tp=2, **KW)
    # two boards' static power over a bit more than half the time, the same DRAM bytes
    assert tp2.energy["decode_avg_w"] > one.energy["decode_avg_w"]


def test_cli_tp_and_split_report_fit_per_device_and_refuse_bad_input(capsys):
    import json

    from simlow.cli import main

    base = ["predict", "--model", "llama-2-70b", "--hw", "a100-80gb-sxm", "--scheme", "f16", "--gen", "16"]
    assert main(base) == 3                                   # one board: does not fit
    capsys.readouterr()
    assert main(base + ["--tp", "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert len(d["memory"]["devices"]) == 4 and d["memory"]["fits"]
    assert main(base + ["--split", "layer:1,1"]) == 0
    out = capsys.readouterr().out
    assert "device 0" in out and "device 1" in out and "per device of 2" in out
    for bad in (["--split", "column:1,1"], ["--tp", "0"], ["--tp", "2", "--split", "layer:1,1"]):
        assert main(base + bad) == 2
    assert "expected layer:R1,R2" in capsys.readouterr().err


def test_split_boundaries_count_device_changes_the_output_included():
    from simlow.sim.parallel import split_boundaries, split_device

    assert split_boundaries(80, (1, 1)) == 1 and split_boundaries(32, (1, 1, 1)) == 2
    assert split_boundaries(32, (1, 0)) == 0 and split_device(32, 32, (1, 0)) == 0   # output on device 0
    # a device with a zero share holds nothing and costs no handover: the one-device speed
    one = simlow.predict("llama-2-7b", "rtx-3090", scheme="q4_0", gen=16)
    solo = simlow.predict("llama-2-7b", "rtx-3090", scheme="q4_0", gen=16, split="layer:1,0", link="pcie")
    assert solo.decode_s == pytest.approx(one.decode_s, rel=1e-12)
    assert solo.memory["devices"][1]["weight_total_bytes"] == 0
