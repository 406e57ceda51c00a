"""simlow validate --energy: the energy CSV loader, like-with-like posing, the held-out split."""

import csv
import json
import shutil

import numpy as np
import pytest

from simlow.cli import main
from simlow.errors import SimlowError
from simlow.sim import power
from simlow.validation.energy import fit, validate_energy
from simlow.validation.energy_rows import FILES, Meter, load_energy_mapping, pose, read_energy
from simlow.validation.validate import default_data_dir


@pytest.fixture(scope="module")
def report():
    return validate_energy()


def test_loader_reads_every_row_and_the_gpu_count():
    rows = read_energy(default_data_dir())
    for name in FILES:
        with (default_data_dir() / name).open(newline="", encoding="utf-8") as f:
            assert sum(r.source == name for r in rows) == sum(1 for _ in csv.DictReader(f))
    eight = [r for r in rows if r.device.startswith("8x ")]
    assert eight and all(r.tp == 8 for r in eight)
    assert all(r.tp == 1 for r in rows if r.source == "energy_meters.csv")


def test_loader_names_the_file_of_a_missing_column(tmp_path):
    for name in FILES:
        shutil.copy(default_data_dir() / name, tmp_path / name)
    (tmp_path / FILES[0]).write_text("device,model\nx,y\n")
    with pytest.raises(SimlowError, match="missing column.*power_W"):
        read_energy(tmp_path)


def test_pose_skips_pipeline_rows_poses_tensor_parallel_ones_and_measures_the_window():
    m = load_energy_mapping()
    rows = read_energy(default_data_dir())
    # multi-GPU rows: pipeline-parallel ones are skipped, tensor-parallel ones posed as N boards
    assert all("pipeline" in pose(r, m) for r in rows if r.pp > 1)
    assert all(pose(r, m).tp == r.tp for r in rows if r.pp == 1 and not isinstance(pose(r, m), str))
    for r in rows:
        c = pose(r, m)
        if not isinstance(c, str):
            assert c.joules / c.seconds == pytest.approx(r.power_w)
            assert c.joules / c.tokens == pytest.approx(r.j_per_token)


def test_meters_are_matched_like_with_like(report):
    meters = {(r.hw, r.meter) for r in report.rows}
    assert ("m1-pro", Meter.PACKAGE.value) in meters and ("h100-sxm", Meter.BOARD.value) in meters
    assert ("snapdragon-8-elite", Meter.NET.value) in meters
    assert any("meter boundary not matched" in why for _, _, why in report.skipped)


def test_held_out_rows_are_not_on_fitted_devices(report):
    held = [r for r in report.rows if r.split == "held-out"]
    assert held and not {r.hw for r in held} & set(power.FITTED.fitted_on)
    assert {r.hw for r in report.rows if r.split == "in-sample"} <= set(power.FITTED.fitted_on)


def test_fit_reads_no_held_out_row(tmp_path):
    # triple every held-out device's measured power: the constants fitted must not move
    for name in FILES:
        src = default_data_dir() / name
        with src.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
        m = load_energy_mapping()
        for d in rows:
            if m.devices.get(d["device"]) not in power.FITTED.fitted_on and d["power_W"]:
                try:
                    d["power_W"] = str(3 * float(d["power_W"]))
                except ValueError:
                    pass
        with (tmp_path / name).open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=reader.fieldnames)
            w.writeheader()
            w.writerows(rows)
    assert fit(tmp_path) == fit()


def test_cli_energy_json(capsys):
    assert main(["validate", "--energy", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {"split:in-sample", "split:held-out"} <= set(d["summaries"])
    assert d["rows"] and d["constants"]["fitted_on"] == list(power.FITTED.fitted_on)


def test_cli_energy_bad_data_dir(tmp_path, capsys):
    assert main(["validate", "--energy", "--data", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_energy_table_names_both_splits_and_the_fitted_devices(capsys):
    assert main(["validate", "--energy"]) == 0
    out = capsys.readouterr().out
    assert "split:in-sample" in out and "split:held-out" in out
    assert ", ".join(power.FITTED.fitted_on) in out and "skipped rows" in out


def test_summaries_group_by_source_and_meter(report):
    assert {"source:energy_mlenergy_v2.csv", "meter:board", "meter:package"} <= set(report.summaries)


def test_end_to_end_error_splits_into_speed_and_power(report):
    # J = W x t = W / (tok/s) over the same tokens: 1 + e_J = (1 + e_W) / (1 + e_tok/s) on every row
    for r in report.rows:
        assert 1 + r.e2e_error == pytest.approx((1 + r.e2e_power_error) / (1 + r.e2e_speed_error), rel=1e-9)
        assert 1 + r.e2e_power_error == pytest.approx(r.e2e_W / r.measured_W, rel=1e-9)
    assert {"e2e_speed", "e2e_power"} <= set(report.summaries["split:held-out, multi-device"])


def _tp_case():
    from simlow.validation.energy import cases

    ok, _, _ = cases()
    return next(c for _, c in ok if c.tp > 1 and c.stack == "vllm")


def test_a_tensor_parallel_group_draws_every_board_for_the_whole_step_host_time_included():
    from dataclasses import replace

    from simlow.sim.stack_load import load_stack
    from simlow.validation.energy import end_to_end, work

    case = _tp_case()
    w, one = work(case), work(replace(case, tp=1))
    assert (w.dev.idle_w, w.dev.active_w, w.dev.cap_w) == pytest.approx(
        (case.tp * one.dev.idle_w, case.tp * one.dev.active_w, case.tp * one.dev.cap_w))
    # vLLM's host time: every scheduler step schedules the whole batch, the group waits for it
    host = load_stack("vllm").serving
    steps = sum(t.size for t in w.seconds)
    assert w.host_s == pytest.approx(steps * (host.step_s + host.part_s * case.batch))
    joules, seconds, _ = end_to_end(case, w)
    bare, bare_s, _ = end_to_end(case, replace(w, host_s=0.0))
    assert seconds - bare_s == pytest.approx(w.host_s)
    assert joules - bare == pytest.approx(w.dev.active_w * w.host_s)   # N boards' active power


def test_a_group_prices_its_all_reduces_at_active_power():
    # the collectives are part of each step's time (NCCL kernels hold SMs and links), and every
    # second of a step under the cap costs the group's active power
    from dataclasses import replace

    from simlow.sim.machine import machine
    from simlow.sim.parallel import group_machine, peer_link, step_comm_s
    from simlow.sim.phases import decode_times
    from simlow.sim.predict import resolve
    from simlow.validation.energy import end_to_end, work
    from simlow.workload.templates import templates

    case = _tp_case()
    w = replace(work(case), host_s=0.0)
    req = resolve(case.model, case.hw, case.scheme, batch=case.batch, prompt=case.prompt, gen=case.gen,
                  stack=case.stack, tp=case.tp)
    temps, _ = templates(req.model, req.scheme)
    bare = decode_times(req, temps, group_machine(machine(req.hw, req.stack, req.engine), case.tp))
    comm = float(step_comm_s(req.parallel, req.model, peer_link(req.hw, req.parallel.link), case.batch, 1))
    assert comm > 0
    assert w.seconds[-1] - np.asarray(bare.total_s) == pytest.approx(np.full(case.gen, comm))
    joules, seconds, thr = end_to_end(case, w)
    assert thr == pytest.approx(1.0)          # under the cap
    longer = replace(w, seconds=tuple(t + comm for t in w.seconds))
    j2, s2, _ = end_to_end(case, longer)
    steps = sum(t.size for t in w.seconds)
    assert j2 - joules == pytest.approx(w.dev.active_w * comm * steps)


def test_cli_rows_say_a_group_meter_is_the_sum_of_its_boards(capsys, report):
    assert main(["validate", "--energy", "--rows"]) == 0
    out = capsys.readouterr().out
    for n in {r.devices for r in report.rows if r.devices > 1}:
        assert f"board, sum of {n}" in out


def test_a_group_end_to_end_without_host_time_is_what_predict_prices():
    # validate --energy's group (N boards' power over the group's steps) and predict's
    # (each board's 1/N of the bytes and ops over the same steps, times N) are one model
    from dataclasses import replace

    import simlow
    from simlow.validation.energy import end_to_end, work

    case = _tp_case()
    joules, _, _ = end_to_end(case, replace(work(case), host_s=0.0))
    p = simlow.predict(case.model, case.hw, case.scheme, batch=case.batch, prompt=case.prompt, gen=case.gen,
                       stack=case.stack, tp=case.tp)
    assert joules == pytest.approx(p.energy["prefill_j"] + p.energy["decode_j"], rel=1e-9)
