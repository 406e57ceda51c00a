"""The header of a ``.gguf`` file, read with ``struct`` (no tensor data, no tokenizer).

Layout (GGUF specification, ggml ``docs/gguf.md``; versions 2 and 3, either byte order)::

    "GGUF" | uint32 version | uint64 tensor_count | uint64 kv_count
    kv_count x     (string key | uint32 value_type | value)
    tensor_count x (string name | uint32 n_dims | n_dims x uint64 ne | uint32 ggml_type | uint64 offset)
    padding to general.alignment (default 32), then the tensor data

A string is a uint64 byte length and UTF-8 bytes; an array is a uint32 element type, a
uint64 count and the elements. ``ne[0]`` is the innermost (row) dimension.

``read_header(path)`` reads only the header: arrays of more than ``KEEP_ARRAY`` entries
(the tokenizer's tokens, merges, scores) and strings over ``KEEP_STRING`` bytes are
*skipped* by moving the cursor over them, never materialised (their value is a
``Skipped``). Every length and count is checked against the bytes left in the file before
anything is read or allocated, tensor sizes come from ``gguf.constants.GGML_QUANT_SIZES``,
and each tensor's data must lie inside the file. A malformed or hostile file is a
``SimlowError`` naming the file, the field and what is wrong, in time and memory bounded
by the header's size.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from simlow.errors import SimlowError

MAGIC = b"GGUF"
VERSIONS = (2, 3)
KEEP_ARRAY = 4096          # longer arrays are skipped (per-layer arrays are far shorter)
KEEP_STRING = 1 << 20      # longer string values are skipped (chat templates are ~10 KB)
MAX_NAME = 1 << 16         # longest key or tensor name accepted
MAX_DIMS = 4               # GGML_MAX_DIMS
MAX_NESTING = 8            # arrays of arrays deeper than this are refused
_CHUNK = 1 << 20
_INT64_MAX = (1 << 63) - 1
_STRING, _ARRAY = 8, 9
# GGUF value types with a fixed size: struct code per type id.
_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_TYPES = {i: GGMLQuantizationType(i) for i in (int(t) for t in GGML_QUANT_SIZES)}


@dataclass(frozen=True)
class Skipped:
    """An array or string value that was skipped, not read (its type and length)."""

    kind: str        # "array of <type id>" or "string"
    length: int


@dataclass(frozen=True)
class GGUFTensor:
    name: str
    type: str                  # GGML type name, e.g. "Q4_K"
    shape: tuple[int, ...]     # ne order: shape[0] is the row length
    n_elements: int
    n_bytes: int
    offset: int = 0            # from the start of the tensor data


@dataclass(frozen=True)
class GGUFHeader:
    path: Path
    version: int
    metadata: Mapping[str, object]
    tensors: tuple[GGUFTensor, ...]
    alignment: int
    data_offset: int           # file offset of the tensor data
    file_bytes: int


class _Cursor:
    """Reads a file forward through a 1 MiB window; every read is checked against the file size."""

    def __init__(self, f, size: int, path: Path) -> None:
        self.f, self.size, self.path = f, size, path
        self.buf, self.start, self.pos = b"", 0, 0
        self.end = "<"

    def fail(self, what: str) -> SimlowError:
        return SimlowError(f"{self.path}: {what}")

    def need(self, n: int, what: str) -> None:
        if n > self.size - self.pos:
            raise self.fail(f"truncated or corrupt GGUF header: {what} needs {n} bytes at offset {self.pos}, "
                            f"the file has {self.size - self.pos} left")

    def _window(self, n: int, what: str) -> int:
        self.need(n, what)
        i = self.pos - self.start
        if i < 0 or i + n > len(self.buf):
            self.f.seek(self.pos)
            self.buf, self.start, i = self.f.read(max(n, _CHUNK)), self.pos, 0
        return i

    def take(self, n: int, what: str) -> bytes:
        i = self._window(n, what)
        self.pos += n
        return self.buf[i:i + n]

    def unpack(self, code: str, what: str):
        st = struct.Struct(self.end + code)
        i = self._window(st.size, what)
        self.pos += st.size
        return st.unpack_from(self.buf, i)

    def u32(self, what: str) -> int:
        return self.unpack("I", what)[0]

    def u64(self, what: str) -> int:
        return self.unpack("Q", what)[0]

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        self.pos += n

    def string(self, what: str, limit: int, skip_long: bool = False) -> str | Skipped:
        """A string; one longer than ``limit`` bytes is skipped (``skip_long``) or refused."""
        n = self.u64(f"{what} (length)")
        self.need(n, what)
        if n > limit:
            if not skip_long:
                raise self.fail(f"{what}: a length of {n} bytes is absurd (at most {limit})")
            self.pos += n
            return Skipped("string", n)
        try:
            return self.take(n, what).decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what}: not UTF-8 text") from None

    def skip_strings(self, count: int, what: str) -> None:
        """Move over ``count`` strings, reading only their lengths."""
        q = struct.Struct(self.end + "Q")
        while count:
            i = self._window(8, what)
            buf, stop = self.buf, len(self.buf) - 8
            while count and i <= stop:
                i += 8 + q.unpack_from(buf, i)[0]
                count -= 1
            self.pos = self.start + i
            if self.pos > self.size:
                raise self.fail(f"truncated GGUF header: {what} runs past the end of the file "
                                f"({self.size} bytes)")


def read_header(path: Path | str) -> GGUFHeader:
    """Read and check the header of the GGUF file ``path`` (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        raise SimlowError(f"{path}: is a directory, not a GGUF file")
    try:
        f = open(path, "rb")
    except OSError as err:
        raise SimlowError(f"{path}: cannot read ({err.strerror})") from None
    with f:
        c = _Cursor(f, os.fstat(f.fileno()).st_size, path)
        return _parse(c)


def _parse(c: _Cursor) -> GGUFHeader:
    magic = c.take(4, "magic") if c.size >= 4 else b""
    if magic != MAGIC:
        raise c.fail(f"not a GGUF file (starts with {magic!r}, expected {MAGIC!r})")
    raw = c.take(4, "version")
    version = struct.unpack("<I", raw)[0]
    if version not in VERSIONS and struct.unpack(">I", raw)[0] in VERSIONS:
        c.end, version = ">", struct.unpack(">I", raw)[0]
    if version not in VERSIONS:
        raise c.fail(f"GGUF version {version} is not supported (supported: {', '.join(map(str, VERSIONS))})")
    n_tensors, n_kv = c.u64("tensor_count"), c.u64("kv_count")
    for count, what, least in ((n_kv, "kv_count", 13), (n_tensors, "tensor_count", 24)):
        if count * least > c.size - c.pos:
            raise c.fail(f"{what} is {count}, but {c.size - c.pos} bytes are left for entries of "
                         f"at least {least} bytes each (corrupt or truncated header)")
    meta: dict[str, object] = {}
    for k in range(n_kv):
        key = c.string(f"metadata key #{k}", MAX_NAME)
        if key in meta:
            raise c.fail(f"metadata key {key} appears twice")
        meta[key] = _value(c, c.u32(f"metadata {key} (type)"), f"metadata {key}", 0)
    tensors = [_tensor_info(c, i) for i in range(n_tensors)]
    alignment = _alignment(c, meta)
    data_offset = -(-c.pos // alignment) * alignment
    _check_tensors(c, tensors, alignment, data_offset)
    return GGUFHeader(c.path, version, MappingProxyType(meta), tuple(tensors), alignment, data_offset, c.size)


def _value(c: _Cursor, vtype: int, what: str, depth: int):
    if vtype in _SCALAR:
        return c.unpack(_SCALAR[vtype], what)[0]
    if vtype == _STRING:
        return c.string(what, KEEP_STRING, skip_long=True)
    if vtype != _ARRAY:
        raise c.fail(f"{what}: unknown GGUF value type {vtype} (valid: 0..12)")
    if depth >= MAX_NESTING:
        raise c.fail(f"{what}: arrays nested deeper than {MAX_NESTING}")
    etype, count = c.u32(f"{what} (array type)"), c.u64(f"{what} (array length)")
    if etype in _SCALAR:
        size = struct.calcsize(_SCALAR[etype])
        c.need(count * size, f"{what} ({count} entries)")
        if count > KEEP_ARRAY:
            c.skip(count * size, what)
            return Skipped(f"array of type {etype}", count)
        return list(c.unpack(f"{count}{_SCALAR[etype]}", what))
    if etype not in (_STRING, _ARRAY):
        raise c.fail(f"{what}: unknown GGUF array element type {etype} (valid: 0..12)")
    c.need(count * (8 if etype == _STRING else 12), f"{what} ({count} entries)")
    if count <= KEEP_ARRAY:
        return [_value(c, etype, f"{what}[{i}]", depth + 1) for i in range(count)]
    if etype == _STRING:
        c.skip_strings(count, what)
    else:
        for i in range(count):
            _value(c, etype, f"{what}[{i}]", depth + 1)
    return Skipped(f"array of type {etype}", count)


def _tensor_info(c: _Cursor, i: int) -> GGUFTensor:
    name = c.string(f"tensor #{i} name", MAX_NAME)
    assert isinstance(name, str)
    what = f"tensor {name}"
    n_dims = c.u32(f"{what} (n_dims)")
    if not 1 <= n_dims <= MAX_DIMS:
        raise c.fail(f"{what}: {n_dims} dimensions (valid: 1..{MAX_DIMS})")
    shape = c.unpack(f"{n_dims}Q", f"{what} (dims)")
    n = 1
    for d in shape:
        n *= d
        if d > _INT64_MAX or n > _INT64_MAX:
            raise c.fail(f"{what}: dimensions {list(shape)} overflow int64 (negative or too large)")
    type_id = c.u32(f"{what} (type)")
    if type_id not in _TYPES:
        raise c.fail(f"{what}: unknown GGML type id {type_id} (known: "
                     f"{', '.join(f'{int(t)} {t.name}' for t in _TYPES.values())})")
    qtype = _TYPES[type_id]
    block, size = GGML_QUANT_SIZES[qtype]
    if shape[0] % block:
        raise c.fail(f"{what}: row length {shape[0]} is not a multiple of {qtype.name}'s block of {block}")
    return GGUFTensor(name, qtype.name, tuple(shape), n, n // block * size, c.u64(f"{what} (offset)"))


def _alignment(c: _Cursor, meta: dict) -> int:
    a = meta.get("general.alignment", 32)
    if isinstance(a, bool) or not isinstance(a, int) or a < 1 or a & (a - 1):
        raise c.fail(f"metadata general.alignment: {a!r} is not a power of two")
    return a


def _check_tensors(c: _Cursor, tensors: list[GGUFTensor], alignment: int, data_offset: int) -> None:
    names: set[str] = set()
    room = c.size - data_offset
    for t in tensors:
        if t.name in names:
            raise c.fail(f"tensor {t.name} appears twice")
        names.add(t.name)
        if t.offset % alignment:
            raise c.fail(f"tensor {t.name}: data offset {t.offset} is not a multiple of the alignment {alignment}")
        if t.offset + t.n_bytes > room:
            raise c.fail(f"tensor {t.name}: its data (bytes {t.offset}..{t.offset + t.n_bytes} of the data "
                         f"section) runs past the end of the file ({max(room, 0)} data bytes): truncated?")
