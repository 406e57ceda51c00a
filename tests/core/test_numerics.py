"""The one numerics vocabulary: every float layout's codes follow from its widths, agree with
the NumPy / ml_dtypes type of the same name, and every compute format is priced and sized
from it."""

from __future__ import annotations

from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from simlow import numerics
from simlow.errors import SimlowError
from simlow.numerics import COMPUTE, FLOAT_LAYOUTS, Overflow, fp_format


def _value(layout, code: int) -> Fraction:
    e, m = code >> layout.mbits, code & ((1 << layout.mbits) - 1)
    if e == 0:
        return Fraction(m, 1 << layout.mbits) * Fraction(2) ** layout.emin
    return (1 + Fraction(m, 1 << layout.mbits)) * Fraction(2) ** (e - layout.bias)


@pytest.mark.parametrize("name", sorted(FLOAT_LAYOUTS))
def test_special_codes_follow_from_the_layout(name):
    f = FLOAT_LAYOUTS[name]
    field_max = (1 << f.ebits) - 1
    if f.overflow is Overflow.INF:          # IEEE-like: all-ones exponent is inf / NaN
        assert f.inf_code == field_max << f.mbits
        assert f.nan_code == f.inf_code | (1 << (f.mbits - 1))
        assert f.max_code == f.inf_code - 1
    assert f.max_value == float(_value(f, f.max_code))
    assert f.bits == 1 + f.ebits + f.mbits and f.significand_bits == f.mbits + 1


@pytest.mark.parametrize("name", [n for n, f in sorted(FLOAT_LAYOUTS.items()) if f.ml_dtype])
def test_layout_agrees_with_the_library_type_of_the_same_name(name):
    f = FLOAT_LAYOUTS[name]
    dtype = np.dtype(getattr(ml_dtypes, f.ml_dtype, None) or f.ml_dtype)
    info = ml_dtypes.finfo(dtype)
    assert dtype.itemsize * 8 >= f.bits
    assert float(info.max) == f.max_value
    assert int(info.nmant) == f.mbits


def test_aliases_and_unknown_names():
    assert fp_format("e4m3") is fp_format("fp8_e4m3") is numerics.E4M3FN
    assert fp_format("e4m3").event_name == "e4m3" and fp_format("fp32").event_name == "fp32"
    with pytest.raises(SimlowError, match="floating-point format"):
        fp_format("e9m9")


def test_every_compute_format_has_a_size_and_the_hardware_schema_uses_them():
    from simlow.specs.hardware import COMPUTE_FORMATS
    from simlow.workload.op import VALUE_BYTES

    assert COMPUTE_FORMATS == tuple(COMPUTE)
    for name, c in COMPUTE.items():
        assert VALUE_BYTES[name] == c.value_bytes > 0
        if c.layout is not None:
            assert c.value_bytes * 8 >= c.layout.bits * 0.99   # fp6 packs 4 values in 3 bytes
        if c.int_bits is not None:
            assert c.value_bytes * 8 == c.int_bits
