"""``simlow npu``: JSON output of size and show."""

from __future__ import annotations

import json

from simlow.cli import main


def test_show_shipped_json(capsys):
    assert main(["npu", "show", "edge-npu-28nm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["spec"]["name"] == "edge-npu-28nm" and out["area_mm2"]["total"] > 0


def test_show_flags_yaml(capsys):
    assert main(["npu", "show", "--unit", "pot4", "--array", "2x32x32", "--sram", "512KiB",
                 "--dram", "lpddr5x-8533x128", "--yaml"]) == 0
    assert "kind: npu" in capsys.readouterr().out


def test_size_json_and_infeasible_exit_code(capsys):
    args = ["npu", "size", "--model", "llama-3-8b", "--scheme", "pot-w4", "--target-decode-tok-s", "20",
            "--node", "28nm", "--prompt", "64", "--gen", "8", "--json"]
    assert main(args + ["--dram", "lpddr5x-8533x64"]) == 1  # memory-bound below the target: no design
    assert json.loads(capsys.readouterr().out)["design"] is None
    assert main(args + ["--dram", "lpddr5x-8533"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"]["dram"].endswith("x128") and out["decode_tok_s"] >= 20


def test_bad_dram_is_an_error(capsys):
    assert main(["npu", "size", "--model", "llama-3-8b", "--scheme", "pot-w4", "--target-decode-tok-s", "20",
                 "--dram", "lpddr5x-8533x63"]) == 2
    assert "16-bit" in capsys.readouterr().err
