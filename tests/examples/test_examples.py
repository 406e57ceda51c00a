"""Every example runs as a user would run it (a fresh Python, an output folder) and writes
its report; the printed numbers are checked for shape, not tuned values."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_writes_its_report(script, tmp_path):
    run = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    written = re.findall(r"^wrote (\S+\.html)", run.stdout, re.M)
    assert written, run.stdout[-2000:]
    for name in written:
        page = (tmp_path / name).read_text()
        assert page.startswith("<!DOCTYPE html>") and 'class="plotly-graph-div"' in page
