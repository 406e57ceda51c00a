"""The registry against simlow.formats (the storage table the performance model uses)."""

from __future__ import annotations

import pytest

from simlow import formats
from simlow.quant import FORMATS, get_format
from simlow.quant.registry import ALIASES

WITH_STORAGE = [f for f in FORMATS.values() if f.storage is not None]


@pytest.mark.parametrize("fmt", WITH_STORAGE, ids=lambda f: f.name)
def test_bits_per_weight_agrees_with_storage_table(fmt):
    assert fmt.bits_per_weight == formats.get(fmt.storage).bits_per_weight


def test_named_figures():
    expect = {"q4_0": 4.5, "q8_0": 8.5, "q4_1": 5.0, "q5_0": 5.5, "q5_1": 6.0, "w4g128": 4.15625,
              "w4g128_sym": 4.125, "int8": 8.0, "int4": 4.0, "fp8_e4m3": 8.0}
    for name, bpw in expect.items():
        assert get_format(name).bits_per_weight == bpw, name


def test_names_are_consistent():
    for name, fmt in FORMATS.items():
        assert fmt.name == name
    for alias, target in ALIASES.items():
        assert target in FORMATS and alias not in FORMATS
