"""README excerpts equal the real output.

Every ``$ simlow ...`` command in a README code block is run (in this process, stdout not a
terminal, as when piped) and the lines the README shows under it must be its output, line
for line. The only elisions allowed are the README's explicit ones: a line ``...`` stands
for any number of lines, and a command ending in ``| tail -N`` shows the last N lines. A
block preceded by ``<!-- readme-test: slow -->`` (a command taking a minute) is skipped.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from simlow.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
SLOW_TAG = "<!-- readme-test: slow -->"
ELLIPSIS = "..."


def excerpts(text: str) -> list[tuple[str, list[str], bool]]:
    """``(command, shown lines, slow)`` for every ``$ simlow`` command in a code block."""
    out = []
    for m in re.finditer(r"(?:^(<!--[^\n]*-->)\n)?^```[^\n]*\n(.*?)^```", text, re.S | re.M):
        slow = m.group(1) == SLOW_TAG
        lines = m.group(2).splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ simlow"):
                i += 1
                continue
            cmd = lines[i][2:]
            while cmd.endswith("\\"):
                i += 1
                cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
            shown = []
            i += 1
            while i < len(lines) and not lines[i].startswith("$ "):
                shown.append(lines[i].rstrip())
                i += 1
            while shown and not shown[-1]:
                shown.pop()
            out.append((cmd, shown, slow))
    return out


def matches(shown: list[str], real: list[str]) -> bool:
    """``shown`` equals ``real`` where each ``...`` line stands for any run of lines."""
    pattern = "".join(".*?" if s == ELLIPSIS else re.escape(s + "\n") for s in shown)
    return re.fullmatch(pattern, "".join(r + "\n" for r in real), re.S) is not None


def run(cmd: str, capsys) -> list[str]:
    words = shlex.split(cmd)
    tail = None
    if "|" in words:
        bar = words.index("|")
        pipe = words[bar + 1:]
        assert pipe[:1] == ["tail"] and len(pipe) == 2 and re.fullmatch(r"-\d+", pipe[1]), f"pipe {pipe} not handled"
        words, tail = words[:bar], int(pipe[1][1:])
    assert words[0] == "simlow"
    capsys.readouterr()
    main(words[1:])
    lines = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    return lines[-tail:] if tail else lines


EXCERPTS = excerpts(README.read_text())


def test_the_readme_has_excerpts():
    assert len(EXCERPTS) >= 6 and all(shown for _, shown, _ in EXCERPTS)


def test_matching_rules():
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"]) and matches(["a", "..."], ["a"])
    assert not matches(["a", "c"], ["a", "b", "c"]) and not matches(["a"], ["a", "b"])


@pytest.mark.parametrize("cmd, shown, slow", EXCERPTS, ids=[c for c, _, _ in EXCERPTS])
def test_readme_excerpt_is_the_real_output(cmd, shown, slow, capsys):
    if slow:
        pytest.skip(f"tagged slow in the README: {cmd}")
    real = run(cmd, capsys)
    assert matches(shown, real), "README shows:\n" + "\n".join(shown) + "\n\nreal output:\n" + "\n".join(real)
