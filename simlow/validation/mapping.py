"""What the measured CSVs' text means in simlow's names: ``workloads/measured/mapping.yaml``.

The scoreboards, llama-bench logs and READMEs name devices, models, quantizations and
backends in their own words ("NVIDIA GeForce RTX 4090", "Q4_K - Medium", "ROCm"); the
mapping file says which shipped hardware spec, model, scheme and stack each one is, and
why a text is deliberately left unmapped. It is data, read strictly (unknown keys, values
that are not names: errors naming the key), so adding a measured source is an edit of that
file, not of code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from simlow.specs.filememo import FileMemo
from simlow.specs.registry import data_root
from simlow.specs.yamlfile import Reader, check_version, load_yaml

SECTIONS = ("devices", "unmapped_devices", "models", "quants", "unmapped_quants", "backends", "dynamic_mixes")


@dataclass(frozen=True)
class NameMapping:
    devices: Mapping[str, str]                    # device text -> hardware spec
    unmapped_devices: Mapping[str, str]           # device text -> why it is not mapped
    models: Mapping[str, str]                     # model text -> model spec
    quants: Mapping[str, str]                     # quant text -> scheme
    unmapped_quants: Mapping[str, str]            # quant text prefix -> why no scheme reproduces it
    backends: Mapping[str, str]                   # backend text -> stack
    vendor_stacks: Mapping[tuple[str, str], str]  # (stack, vendor word) -> the stack used on that vendor
    by_size_schemes: Mapping[tuple[str, str], str]  # (model, quant text) -> scheme the file size identifies
    dynamic_mixes: Mapping[str, str]              # model text -> what publisher-chosen mix it is


def mapping_file() -> Path:
    return data_root() / "workloads" / "measured" / "mapping.yaml"


def _table(r: Reader, key: str) -> Mapping[str, str]:
    sub = r.sub(key)
    out = {str(k): sub.str(k) for k in sub.keys()}
    sub.done()
    return MappingProxyType(out)


def _rows(r: Reader, key: str, fields: tuple[str, str, str]) -> Mapping[tuple[str, str], str]:
    out = {}
    for item in r.readers(key):
        out[(item.str(fields[0]), item.str(fields[1]))] = item.str(fields[2])
        item.done()
    return MappingProxyType(out)


def _read(path: Path) -> NameMapping:
    r = Reader(load_yaml(path), str(path))
    check_version(r, "schema_version")
    m = NameMapping(**{k: _table(r, k) for k in SECTIONS},
                    vendor_stacks=_rows(r, "vendor_stacks", ("stack", "vendor", "use")),
                    by_size_schemes=_rows(r, "by_size_schemes", ("model", "quant", "scheme")))
    r.done()
    return m


_memo = FileMemo(_read)


def load_mapping(path: Path | None = None) -> NameMapping:
    """The name mapping (default: the shipped ``workloads/measured/mapping.yaml``; the data
    root is looked up per call, as an installed wheel and a checkout differ)."""
    return _memo(path if path is not None else mapping_file())
