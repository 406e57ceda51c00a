"""Resumability and backends: every way of running a sweep ends with the same rows."""

import csv
import json
import signal
import subprocess
import sys
import time

import pytest

from simlow.errors import SimlowError
from simlow.sweep import LocalPool, Serial, load_sweep, plan, run, run_sweep


def _rows(path):
    return sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: r["index"])


def test_rows_carry_results_and_model_rejections(small_sweep, tmp_path):
    rows = run_sweep(load_sweep(small_sweep), tmp_path / "r.jsonl", Serial())
    assert [r["index"] for r in rows] == list(range(24))
    r0 = rows[0]
    assert r0["fits"] is True and r0["kv_cache_bytes"] == 2 * 32 * 2048 * 4096 * 2 and r0["error"] is None
    bad = [r for r in rows if r["error"]]
    assert {(r["model"], r["ctx"]) for r in bad} == {("llama-2-7b", 8192), ("llama-2-7b", 32768)}
    assert all(r["fits"] is None for r in bad) and "exceeds llama-2-7b's maximum" in bad[0]["error"]
    table = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [int(t["index"]) for t in table] == list(range(24)) and table[0]["fits"] == "True"


def test_interrupted_and_resumed_equals_uninterrupted(small_sweep, tmp_path):
    spec = load_sweep(small_sweep)
    whole = run_sweep(spec, tmp_path / "whole.jsonl", Serial())
    part = tmp_path / "part.jsonl"
    gen = run(plan(spec, part), Serial())
    taken = [next(gen) for _ in range(7)]           # stop part-way through a chunk's rows
    gen.close()
    with part.open("a") as f:                       # and a line cut short by a kill mid-write
        f.write('{"sweep": "' + spec.id + '", "index": 23, "mod')
    p = plan(spec, part)
    assert p.done >= len(taken) and p.done < 24 and len(p.todo) == 24 - p.done
    assert run_sweep(spec, part, Serial()) == whole
    assert (tmp_path / "part.csv").read_text() == (tmp_path / "whole.csv").read_text()
    assert plan(spec, part).todo == ()             # nothing left: a third run does nothing


def test_another_sweeps_file_is_refused(small_sweep, tmp_path, write_sweep):
    out = tmp_path / "r.jsonl"
    run_sweep(load_sweep(small_sweep), out, Serial())
    other = load_sweep(write_sweep(tmp_path / "o.yaml", {"ctx": [1, 2]}, {"model": "llama-2-7b", "hw": "h100-sxm"}))
    with pytest.raises(SimlowError, match="belongs to another sweep"):
        plan(other, out)
    assert len(run_sweep(other, out, Serial(), restart=True)) == 2


def test_process_pool_rows_equal_serial_rows(small_sweep, tmp_path):
    spec = load_sweep(small_sweep)
    assert run_sweep(spec, tmp_path / "pool.jsonl", LocalPool(2)) == run_sweep(spec, tmp_path / "one.jsonl", Serial())


def test_cli_interrupted_by_sigint_then_resumed(tmp_path, write_sweep):
    """A real interruption: Ctrl-C (SIGINT) to ``simlow sweep``, then the same command again."""
    spec_path = write_sweep(tmp_path / "long.yaml", {"ctx": list(range(32, 4097, 32))},
                            {"model": "llama-2-7b", "hw": "h100-sxm", "scheme": "q4_0"})
    out = tmp_path / "long.jsonl"
    cmd = [sys.executable, "-m", "simlow.cli", "sweep", str(spec_path), "-o", str(out), "--workers", "1", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out.exists() and out.read_text().count("\n") >= 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    kept = len(_rows(out))
    assert 0 < kept < 128
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["resumed_from"] == kept and summary["complete"]
    whole = run_sweep(load_sweep(spec_path), tmp_path / "whole.jsonl", Serial())
    assert _rows(out) == whole


def test_ray_backend_rows_equal_local_rows(small_sweep, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'simlow[ray]')")
    from simlow.sweep import Ray

    spec = load_sweep(small_sweep)
    local = run_sweep(spec, tmp_path / "local.jsonl", Serial())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="simlow-test")
    try:
        assert ray.is_initialized()
        rows = run_sweep(spec, tmp_path / "ray.jsonl", Ray())
    finally:
        ray.shutdown()
    assert rows == local


def test_npu_design_axes(tmp_path, write_sweep):
    spec = load_sweep(write_sweep(tmp_path / "npu.yaml", {"unit": ["int8", "pot3", "nope"], "array_side": [32, 64]},
                                  {"node_nm": 28, "dram": "lpddr4x-4266x32"}, "npu"))
    rows = run_sweep(spec, tmp_path / "npu.jsonl", Serial())
    ok = {(r["unit"], r["array_side"]): r for r in rows if not r["error"]}
    assert len(ok) == 4 and all("unknown NPU datapath unit 'nope'" in r["error"] for r in rows if r["unit"] == "nope")
    # four times the MACs at one clock: four times the peak, and more area
    assert ok[("int8", 64)]["peak_TOPS"] == pytest.approx(4 * ok[("int8", 32)]["peak_TOPS"])
    assert ok[("int8", 64)]["area_mm2"] > ok[("int8", 32)]["area_mm2"]
