"""Fuzzing the GGUF header reader: a small valid file (``gguf_tiny``), truncated, with random
bytes flipped, with count and length fields overwritten. Every case gives either a valid
``ModelSpec`` (and file-types scheme) or a ``SimlowError``, never another exception, within
the per-example deadline and a bounded allocation (checked with ``tracemalloc``).
"""

from __future__ import annotations

import os
import struct
import tempfile
import tracemalloc

from hypothesis import HealthCheck, given, settings, strategies as st

from simlow.errors import SimlowError
from simlow.specs.gguf_file import read_header
from simlow.specs.gguf_header import model_from_header
from simlow.specs.gguf_types import file_scheme
from simlow.specs.model import ModelSpec
from simlow.specs.tensors import param_count, weight_tensors

from .gguf_tiny import tiny_gguf_bytes

DATA = tiny_gguf_bytes()
MEMORY_BOUND = 16 * 2**20      # bytes allocated while reading one case (the file is ~90 KB)
_FIELDS = sorted({8, 16} | {i for i in range(24, min(len(DATA), 20_000) - 8)
                             if DATA[i + 4:i + 8] == b"\0\0\0\0" and DATA[i:i + 4] != b"\0\0\0\0"})
HUGE = st.sampled_from([0, 1, 2**31, 2**32 - 1, 2**40, 2**62, 2**63, 2**64 - 1])


def _check(data: bytes) -> None:
    fd, name = tempfile.mkstemp(suffix=".gguf")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        tracemalloc.start()
        try:
            try:
                h = read_header(name)
                m = model_from_header(h)
                scheme, notes = file_scheme(h, m)
                assert isinstance(m, ModelSpec) and notes
                assert param_count(m) > 0 and scheme.tensor_format(m, weight_tensors(m)[0])
            except SimlowError as err:
                assert name in str(err)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < MEMORY_BOUND, peak
    finally:
        os.unlink(name)


FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def test_the_valid_file_reads():
    h = read_header_bytes(DATA)
    assert model_from_header(h).layers == 2


def read_header_bytes(data: bytes):
    fd, name = tempfile.mkstemp(suffix=".gguf")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    try:
        return read_header(name)
    finally:
        os.unlink(name)


@FUZZ
@given(st.integers(0, len(DATA)))
def test_truncated(n):
    _check(DATA[:n])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(DATA) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_bytes_flipped(flips):
    data = bytearray(DATA)
    for pos, value in flips:
        data[pos] = value
    _check(bytes(data))


@FUZZ
@given(st.sampled_from(_FIELDS), HUGE | st.integers(0, 2**64 - 1))
def test_count_and_length_fields_overwritten(pos, value):
    _check(DATA[:pos] + struct.pack("<Q", value) + DATA[pos + 8:])


@FUZZ
@given(st.integers(0, 4000), st.binary(min_size=1, max_size=64))
def test_bytes_inserted_in_the_header(pos, junk):
    _check(DATA[:pos] + junk + DATA[pos:])
