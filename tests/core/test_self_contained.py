"""The repository cites primary sources, never a document outside it or a machine path.

Every text file git tracks under simlow/, tests/, workloads/, hwspecs/, examples/ and the
README is read; none may name the project workspace's reference, seed or validation
folders, a sibling shared folder, or an absolute machine path. (This file
spells the patterns in pieces so that it does not match itself.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCOPE = ("simlow", "tests", "workloads", "hwspecs", "examples", "README.md")
SHARED = "shared"
FORBIDDEN = (
    "../" + SHARED,
    "/" + "work/",
    SHARED + "/reference",
    SHARED + "/seeds",
    SHARED + "/validation",
)


def _tracked_files() -> list[Path]:
    """Files git tracks in SCOPE; without git (an unpacked sdist), every file there."""
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files", "-z", "--", *SCOPE], cwd=ROOT, check=True,
                             capture_output=True).stdout
        return [ROOT / p for p in out.decode().split("\0") if p]
    files: list[Path] = []
    for name in SCOPE:
        top = ROOT / name
        files.extend([top] if top.is_file() else (p for p in top.rglob("*") if p.is_file()))
    return files


def _text(path: Path) -> str | None:
    """The file as text, or None for a binary file (a NUL byte or not UTF-8)."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_the_scan_sees_the_repository():
    files = _tracked_files()
    names = {p.relative_to(ROOT).as_posix() for p in files}
    assert "README.md" in names and "simlow/data/cost/primitives.yaml" in names
    assert any(n.startswith("hwspecs/") for n in names) and any(n.startswith("workloads/") for n in names)
    assert len(files) > 100


@pytest.mark.parametrize("pattern", FORBIDDEN)
def test_no_file_names_an_outside_document_or_machine_path(pattern):
    hits = []
    for path in _tracked_files():
        if not path.is_file():          # tracked but deleted in the work tree
            continue
        text = _text(path)
        if text is None:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if pattern in line:
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not hits, f"{len(hits)} line(s) cite {pattern!r}; cite the primary source instead:\n" + "\n".join(hits)


def test_the_check_catches_a_citation(tmp_path):
    """The scan is not vacuous: a planted citation is found, a binary file is skipped."""
    planted = tmp_path / "x.py"
    planted.write_text('"""See ../' + SHARED + '/reference/notes.md section 1."""\n')
    assert any(p in _text(planted) for p in FORBIDDEN)
    binary = tmp_path / "x.npz"
    binary.write_bytes(b"PK\0\0../" + SHARED.encode())
    assert _text(binary) is None
