"""The calibration's regrouped roofline is the roofline: for every calibrated stack, the
time ``simlow.validation.calibrate`` computes from a row's precomputed terms at the stack
file's own parameters equals ``simlow.predict`` of the same case (to rounding), with the
stack's step overhead as it is and with a non-zero one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from simlow.sim.stack_load import load_stack
from simlow.validation import calibrate as C
from simlow.validation.validate import mapped_rows, predicted_rate


@pytest.fixture(scope="module")
def cases_by_stack():
    ok, _ = mapped_rows()
    out: dict[str, list] = {}
    for _, case in ok:
        out.setdefault(case.stack, []).append(case)
    return out


def _sample(cases, n=4):
    step = max(1, len(cases) // n)
    return cases[::step][:n]


@pytest.mark.parametrize("step_overhead_s", [None, 40e-6], ids=["as-shipped", "step-40us"])
def test_calibration_time_equals_the_roofline(cases_by_stack, step_overhead_s):
    assert len(cases_by_stack) >= 6
    for name, cases in sorted(cases_by_stack.items()):
        stack = load_stack(name)
        if step_overhead_s is not None:
            stack = replace(stack, step_overhead_s=step_overhead_s)
        mode = C.default_mode(stack)
        theta = C._theta(C._start(stack, mode))
        for case in _sample(cases):
            fitted_form = C.predicted(case, C.row_terms(case, stack, mode), theta, C.unfitted_efficiency(stack))
            assert fitted_form == pytest.approx(predicted_rate(case, stack)[0], rel=1e-9), (name, case)
