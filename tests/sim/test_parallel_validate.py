"""Tensor-parallel measured rows (LMDeploy throughput, ML.ENERGY energy): mapped with their GPU
count, held out of every fit."""

import pytest

from simlow.validation.measured import RowKind, map_row, read_dir
from simlow.validation.validate import default_data_dir, mapped_rows, split_of


def _lmdeploy_rows():
    return [r for r in read_dir(default_data_dir()) if r.source.startswith("lmdeploy")]


def test_tp_rows_map_to_tensor_parallel_cases():
    cases = [(r, map_row(r)) for r in _lmdeploy_rows()]
    multi = [(r, c) for r, c in cases if r.devices > 1]
    assert {r.devices for r, _ in multi} == {2, 4}
    for r, c in multi:
        assert not isinstance(c, str), c
        assert c.tp == r.devices and c.kind is RowKind.E2E and c.hw == "a100-80gb-sxm"
        assert split_of(c) == "held-out"
    assert all(c.tp == 1 for r, c in cases if r.devices == 1)


def test_fits_never_see_multi_device_rows():
    ok, bad = mapped_rows()
    assert all(c.tp == 1 for _, c in ok)
    assert sum("tensor parallel" in why for _, _, why in bad) == 10
    ok_all, _ = mapped_rows(multi_device=True)
    assert sum(c.tp > 1 for _, c in ok_all) == 10


def test_energy_tensor_parallel_rows_are_posed_held_out_and_never_fitted():
    from simlow.validation.energy import SPLITS, cases, fit
    from simlow.sim import power

    ok, skipped, _ = cases()
    tp = [(r, c) for r, c in ok if c.tp > 1]
    assert tp and all(c.tp == r.tp and r.pp == 1 for r, c in tp)
    assert any("pipeline" in why for _, _, why in skipped)
    assert "held-out, multi-device" in SPLITS
    k = fit()
    assert "22 rows" in k.source        # the single-board rows of the fitted devices only
    assert (k.unit_cycle_pJ, k.onchip_pJ_per_bit) == pytest.approx((power.FITTED.unit_cycle_pJ,
                                                                    power.FITTED.onchip_pJ_per_bit), rel=1e-3)
