"""Example (e) as a user runs it: its table holds a GPU and a partner row per pair. The
NPU and CPU stacks' bandwidth fractions are caps on their own ports (50 and 84 GB/s, below
half the 256 GB/s bus), so the partners are not slowed and the GPU is slowed by more than
nothing but less than when the partner's fraction is read as bus occupancy (each co-run
slowdown of that reading in (1, 2], max-min fairness of two agents), and no more than by a
constant stream of the partner's bytes over the whole run; bytes are conserved."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "e_strix_halo_shared_bus.py"
ROW = re.compile(r"^GPU \+ (NPU|CPU)\s+(gpu|npu|cpu)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*([\d.]*)$",
                 re.M)


def test_strix_halo_example_table(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "out")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = ROW.findall(run.stdout)
    assert [(p, e) for p, e, *_ in rows] == [("NPU", "gpu"), ("NPU", "npu"), ("CPU", "gpu"), ("CPU", "cpu")]
    for _, engine, alone, together, slowdown, as_occupancy, as_stream in rows:
        assert 1.0 < float(as_occupancy) <= 2.0
        if engine == "gpu":
            assert float(together) > float(alone)
            assert 1.0 < float(slowdown) < float(as_occupancy)
            assert float(slowdown) <= float(as_stream)
        else:                                  # port-capped partner below its fair share of the bus
            assert float(slowdown) == 1.0 and together == alone and as_stream == ""
    assert run.stdout.count("bytes over the bus together = alone: True") == 2
    assert (tmp_path / "out" / "strix_halo_shared_bus.html").read_text().count('class="plotly-graph-div"') >= 2
