import pytest

from simlow.errors import SimlowError
from simlow.quantities import Dim, fmt_bytes, parse


@pytest.mark.parametrize("text,dim,expected", [
    ("3.35 TB/s", Dim.BANDWIDTH, 3.35e12),
    ("819 GB/s", Dim.BANDWIDTH, 819e9),
    ("80 GiB", Dim.BYTES, 80 * 2**30),
    ("80 GB", Dim.BYTES, 80e9),
    ("700 W", Dim.POWER, 700.0),
    ("1.98 GHz", Dim.FREQUENCY, 1.98e9),
    ("4 nm", Dim.LENGTH, 4e-9),
    ("0.2 pJ", Dim.ENERGY, 0.2e-12),
    ("36 um^2", Dim.AREA, 36e-12),
    ("2.5 mm2", Dim.AREA, 2.5e-6),
    ("989.4 TFLOP/s", Dim.OPS_RATE, 989.4e12),
    ("1979 TOPS", Dim.OPS_RATE, 1979e12),
    ("5 us", Dim.TIME, 5e-6),
    ("4 pJ/bit", Dim.ENERGY_PER_BIT, 4e-12),
    ("32 pJ/B", Dim.ENERGY_PER_BIT, 4e-12),
    ("1e3 MB/s", Dim.BANDWIDTH, 1e9),
])
def test_parse(text, dim, expected):
    assert parse(text, dim) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text,dim,fragment", [
    ("80", Dim.BYTES, "no unit"),
    ("80 furlongs", Dim.BYTES, "unknown unit 'furlongs'"),
    ("-3 GB/s", Dim.BANDWIDTH, "non-negative"),
    ("700 W", Dim.BANDWIDTH, "expected bytes/s"),
    ("fast", Dim.FREQUENCY, "cannot read 'fast'"),
    (True, Dim.BYTES, "expected a quantity"),
])
def test_parse_refuses(text, dim, fragment):
    with pytest.raises(SimlowError) as err:
        parse(text, dim)
    assert fragment in str(err.value)


def test_fmt_bytes():
    assert fmt_bytes(3.56 * 2**30) == "3.56 GiB"
    assert fmt_bytes(512) == "512 B"
