"""simlow validate --energy: the energy CSV loader, like-with-like posing, the held-out split."""

import csv
import json
import shutil

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
