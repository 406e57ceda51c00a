"""Board energy: the simulator's J/token against Strix Halo measured power."""

from __future__ import annotations

import pytest

from simlow.validation.board import compare_decode_energy
from simlow.sim.predict import predict


@pytest.fixture(scope="module")
def cmp():
    return compare_decode_energy()


def test_rows_are_measured_power_over_speed(cmp):
    assert len(cmp.rows) > 20
    for r in cmp.rows:
        assert r.measured_J_per_token == pytest.approx(r.measured_W / r.measured_tok_s, rel=1e-12)
        # J = W / (tok/s): the J/token error splits exactly into its power and speed parts
        assert 1 + r.error == pytest.approx((1 + r.power_error) / (1 + r.speed_error), rel=1e-9)


def test_predicted_energy_is_the_simulators(cmp):
    r = cmp.rows[0]
    p = predict(r.model, "strix-halo", r.scheme, prompt=0, gen=int(r.test.removeprefix("tg")), stack=r.stack)
    assert r.predicted_J_per_token == p.energy_j_per_token
    assert r.predicted_W == p.energy["decode_avg_w"]


def test_summary_and_statements(cmp):
    errs = sorted(abs(r.error) for r in cmp.rows)
    assert cmp.median_abs_error == pytest.approx(errs[len(errs) // 2] if len(errs) % 2 else
                                                 (errs[len(errs) // 2 - 1] + errs[len(errs) // 2]) / 2)
    assert cmp.modelled and cmp.calibrated and cmp.stack_calibration
    assert {s for s, _ in cmp.stack_calibration} == {r.stack for r in cmp.rows}
