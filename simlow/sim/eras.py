"""Software build eras: one stack, calibrated per range of its builds.

The same engine on the same silicon changes with its build (llama.cpp CUDA Llama-2-7B
Q4_0 pp512 on an RTX 3090 Ti: 4,035 tok/s on a January 2024 build, 6,567 on a 2025 one).
A stack file's top-level constants are its newest calibration; ``eras:`` lists older build
ranges, each with the calibrated constants (``simlow.sim.stacks.CALIBRATED``) that differ
there, its own ``calibration`` text and ``fitted_on`` split (an era is fitted on its own
rows, ``simlow.validation.calibrate.fit_stack(era=...)``). Constants an era does not give are
the stack's. Which calibration predicts a measurement: the era whose range holds the
measurement's build, when its row states one; otherwise (no build, or a build outside every
era) the newest (``Stack.at_build``). Nothing here is per device.

YAML (inside a stack file)::

    eras:
      - builds: b2795-b2843          # llama.cpp build numbers (first-last, inclusive)
        dated: "2024-05"             # when those builds were made (and the source)
        kernel_overhead: 6 us        # any of CALIBRATED; calibration is required
        calibration: "..."
        fitted_on: {by: hw, train: [...], held_out: [...]}

A stack is named at an era as ``<stack>@<builds>`` (``llama.cpp-cuda@b2795-b2843``) or at a
build as ``<stack>@b<number>`` (``llama.cpp-cuda@b2824``); the newest is ``<stack>@newest``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from simlow.errors import SimlowError
from simlow.specs.yamlfile import Reader

Stack = Any     # a simlow.sim.stacks.Stack (which imports this module: not imported back)

NEWEST = "newest"
_RANGE = re.compile(r"^b(\d+)-b(\d+)$")
_BUILD = re.compile(r"(?:^|\()b(\d+)(?:\)|$)")


@dataclass(frozen=True)
class Era:
    """A build range of a stack and the stack as calibrated for it."""
    builds: str            # "b2795-b2843": the era's name
    first_build: int
    last_build: int
    dated: str             # when the builds were made
    stack: Stack         # the stack with this era's constants (``Stack.era`` = ``builds``)

    def covers(self, build: int) -> bool:
        return self.first_build <= build <= self.last_build


def parse_build(text: str | None) -> int | None:
    """The llama.cpp build number in ``text`` (``"b2824"``, ``"4426e298 (b2824)"``), or
    None when it states none (a bare commit hash, an empty cell)."""
    if not text:
        return None
    m = _BUILD.search(text.strip())
    return int(m[1]) if m else None


def read_eras(r: Reader, base: Stack, era_stack: Callable) -> tuple[Era, ...]:
    """The ``eras`` list of stack file reader ``r``, sorted by first build;
    ``era_stack(base, reader, builds)`` makes each era's stack."""
    eras = []
    for sub in r.readers("eras"):
        builds = sub.str("builds")
        m = _RANGE.match(builds)
        if m is None or int(m[1]) > int(m[2]):
            sub.fail(f"{builds!r} is not a build range b<first>-b<last> with first <= last", "builds")
        eras.append(Era(builds, int(m[1]), int(m[2]), sub.str("dated", nonempty=True),
                        era_stack(base, sub, builds)))
        sub.done()
    eras.sort(key=lambda e: e.first_build)
    for a, b in zip(eras, eras[1:]):
        if b.first_build <= a.last_build:
            r.fail(f"eras {a.builds} and {b.builds} overlap", "eras")
    if not eras:
        r.fail("must list at least one era (or leave the key out)", "eras")
    return tuple(eras)


def at_build(stack: Stack, build: int | None) -> Stack:
    """The calibration of ``stack`` for a measurement of build ``build`` (module docstring)."""
    if build is not None:
        for era in stack.eras:
            if era.covers(build):
                return era.stack
    return stack


def at_era(stack: Stack, tail: str) -> Stack:
    """``stack`` at ``tail``: an era's builds, ``b<number>`` or ``newest``."""
    if tail == NEWEST:
        return stack
    for era in stack.eras:
        if era.builds == tail:
            return era.stack
    build = parse_build(tail)
    if build is not None and _RANGE.match(tail) is None:
        return at_build(stack, build)
    valid = ", ".join([NEWEST, "b<build number>"] + [e.builds for e in stack.eras])
    raise SimlowError(f"stack {stack.name} has no era {tail!r} (valid: {valid})")
