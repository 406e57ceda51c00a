"""Example (e) as a user runs it: its table holds a GPU and a partner row per pair, every
co-run slowdown is in (1, 2] (two agents sharing a bus by max-min fairness), the partner
as a capped stream slows the GPU less than the full co-run does, and bytes are conserved."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "e_strix_halo_shared_bus.py"
ROW = re.compile(r"^GPU \+ (NPU|CPU)\s+(gpu|npu|cpu)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*([\d.]*)$", re.M)


def test_strix_halo_example_table(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "out")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = ROW.findall(run.stdout)
    assert [(p, e) for p, e, *_ in rows] == [("NPU", "gpu"), ("NPU", "npu"), ("CPU", "gpu"), ("CPU", "cpu")]
    for _, engine, alone, together, slowdown, as_stream in rows:
        assert 1.0 < float(slowdown) <= 2.0
        assert float(together) > float(alone)
        if engine == "gpu":
            assert 1.0 < float(as_stream) < float(slowdown)
    assert run.stdout.count("bytes over the bus together = alone: True") == 2
    assert (tmp_path / "out" / "strix_halo_shared_bus.html").read_text().count('class="plotly-graph-div"') >= 2
