"""Finding specs by name: ``hwspecs/<name>.yaml``, ``workloads/models/<name>.yaml``,
``workloads/schemes/<name>.yaml``, or a path to a file.

Data files live at the top of the repository (``hwspecs/``, ``workloads/``); an installed
wheel carries them as ``simlow/_data/``. Loads are memoized per resolved path and file
stamp (``simlow.specs.filememo``): an edited file is read again.
"""

from __future__ import annotations

from pathlib import Path

from simlow.errors import SimlowError, unknown_name
from simlow.specs.filememo import FileMemo
from simlow.specs.hardware import HardwareSpec, read_hardware
from simlow.specs.model import ModelSpec, read_model
from simlow.specs.scheme import Scheme, read_scheme


def data_root() -> Path:
    """The folder holding ``hwspecs/`` and ``workloads/``."""
    packaged = Path(__file__).resolve().parents[1] / "_data"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2]


def _dir(kind: str) -> Path:
    return data_root() / {"hardware": "hwspecs", "model": "workloads/models",
                          "scheme": "workloads/schemes", "claims": "workloads/claims"}[kind]


def names(kind: str) -> list[str]:
    """The shipped names of a kind (``hardware``, ``model``, ``scheme``)."""
    return sorted(p.stem for p in _dir(kind).glob("*.yaml"))


def resolve(kind: str, name_or_path: str | Path) -> Path:
    """A shipped name or an existing file path -> the file."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml", ".json", ".gguf") or "/" in text:
        if path.is_dir():
            raise SimlowError(f"{kind} file {text!r} is a directory, not a file")
        if not path.is_file():
            raise SimlowError(f"{kind} file {text!r} does not exist")
        return path.resolve()
    candidate = _dir(kind) / f"{text}.yaml"
    if not candidate.is_file():
        raise unknown_name(kind, text, names(kind))
    return candidate


def load_hw(name_or_path: str | Path, memory: str | float | None = None) -> HardwareSpec:
    """A hardware spec by name (``"h100-sxm"``) or path; ``memory`` picks a capacity option."""
    if isinstance(name_or_path, HardwareSpec):
        spec = name_or_path
    else:
        spec = _read_hw(resolve("hardware", name_or_path))
    return spec.with_capacity(memory) if memory is not None else spec


def load_model(name_or_path: str | Path) -> ModelSpec:
    """A model shape by name, model YAML, Hugging Face ``config.json`` or ``.gguf`` file."""
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    path = resolve("model", name_or_path)
    if path.suffix == ".json":
        from simlow.specs.hf import read_hf_config

        return read_hf_config(path)
    if path.suffix == ".gguf":
        from simlow.specs.gguf_header import read_gguf_model

        return read_gguf_model(path)
    return _read_model(path)


def load_scheme(name_or_path: str | Path) -> Scheme:
    """A quantization scheme by name (``"q4_k_m"``, ``"kv-q8_0"``) or path."""
    if isinstance(name_or_path, Scheme):
        return name_or_path
    return _read_scheme(resolve("scheme", name_or_path))


_read_hw = FileMemo(read_hardware)
_read_model = FileMemo(read_model)
_read_scheme = FileMemo(read_scheme)
