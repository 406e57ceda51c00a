"""Storage formats: how many bits a tensor takes in memory, per number format.

This is the *storage* side of a number format (bytes a weight or a KV entry occupies,
scales and zero points included), used by memory-fit and the performance model. The
*numerics* (what the codes mean, how values round) live in ``simlow.quant``; its tests check
that every quantizer's ``bits_per_weight`` agrees with this table.

GGUF block sizes come straight from ``gguf.constants.GGML_QUANT_SIZES`` (the block of
weights and the bytes it takes), so they cannot drift from llama.cpp's; every type in that
table is a format here (F32 ... Q4_1, Q5_K, the IQ types, BF16, F64, I8..I64, TQ1_0/TQ2_0,
MXFP4, NVFP4...), so any tensor of a ``.gguf`` file can be sized by its own type. The other formats
state their layout and source below. This module must not import JAX.

``compute`` names the arithmetic a format's values feed on hardware that runs it natively
(fp16, bf16, fp8, int8, int4, fp4, ternary, pot); simulators decide whether a given
engine has that rate or must dequantize to something it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from simlow.errors import SimlowError, unknown_name


@dataclass(frozen=True)
class StorageFormat:
    """Bytes per tensor for one number format.

    A block of ``block`` consecutive weights along a row takes ``block_bytes`` bytes.
    ``row_bytes`` adds bytes per row (per output channel: a per-channel scale) and
    ``tensor_bytes`` bytes per whole tensor (a per-tensor scale).
    """

    name: str
    block: int
    block_bytes: int
    compute: str
    source: str
    row_bytes: int = 0
    tensor_bytes_fixed: int = 0
    gguf_type: int | None = None

    @property
    def bits_per_weight(self) -> float:
        """Bits per weight from the blocks alone (per-row and per-tensor scales excluded)."""
        return self.block_bytes * 8 / self.block

    def tensor_bytes(self, rows: int, cols: int) -> int:
        """Exact bytes of a ``rows x cols`` tensor whose rows are blocked along ``cols``.

        A row that is not a multiple of the block is padded to whole blocks, as GGUF
        and MX formats require.
        """
        blocks_per_row = math.ceil(cols / self.block)
        return rows * (blocks_per_row * self.block_bytes + self.row_bytes) + self.tensor_bytes_fixed

    def bits_for(self, rows: int, cols: int) -> float:
        """Bits per weight of a ``rows x cols`` tensor, every scale included."""
        return self.tensor_bytes(rows, cols) * 8 / (rows * cols)


# The arithmetic each GGUF type feeds; the rest are llama.cpp block quants, whose kernels dot
# in int8. F64 and I16..I64 tensors are never matmul weights of a published LLM (integer
# tensors hold indices); simlow has no fp64 or wide-integer rate, so they are nominally fp32
# and int8, which only matters should such a tensor dominate a file.
_GGUF_COMPUTE = {
    "F32": "fp32", "F64": "fp32", "F16": "fp16", "BF16": "bf16", "TQ1_0": "ternary", "TQ2_0": "ternary",
    "MXFP4": "fp4", "NVFP4": "fp4", "I8": "int8",
}
_GGUF_SOURCE = "gguf.constants.GGML_QUANT_SIZES (llama.cpp ggml block layout)"


def _gguf_formats() -> dict[str, StorageFormat]:
    out = {}
    for qtype, (block, nbytes) in GGML_QUANT_SIZES.items():
        name = qtype.name.lower()
        compute = _GGUF_COMPUTE.get(qtype.name, "int8")  # llama.cpp's quantized kernels dot in int8
        out[name] = StorageFormat(name, block, nbytes, compute, _GGUF_SOURCE, gguf_type=int(qtype))
    return out


# Non-GGUF formats. Each states its layout; sizes follow from the layout.
_OTHER = [
    StorageFormat("fp8", 1, 1, "fp8", "FP8 e4m3/e5m2: 1 byte per value (OCP FP8 spec)"),
    StorageFormat("fp8_e4m3", 1, 1, "fp8", "OCP FP8 e4m3fn: 1 byte per value"),
    StorageFormat("fp8_e5m2", 1, 1, "fp8", "OCP FP8 e5m2: 1 byte per value"),
    StorageFormat("int8", 1, 1, "int8", "int8 codes; per-channel fp16 scale", row_bytes=2),
    StorageFormat("int4", 2, 1, "int4", "int4 codes packed 2 per byte; per-channel fp16 scale",
                  row_bytes=2),
    StorageFormat("mxfp8", 32, 33, "fp8", "OCP MX v1.0: 32 x FP8 + 1 E8M0 scale byte"),
    StorageFormat("mxfp6", 32, 25, "fp6", "OCP MX v1.0: 32 x FP6 (24 bytes) + 1 E8M0 scale byte"),
    StorageFormat("mxint8", 32, 33, "int8", "OCP MX v1.0: 32 x INT8 + 1 E8M0 scale byte"),
    StorageFormat("nvfp4_tensor", 16, 9, "fp4",
                  "NVIDIA NVFP4: 16 x E2M1 (8 bytes) + 1 E4M3 scale byte, + 1 FP32 per tensor",
                  tensor_bytes_fixed=4),
    # AutoAWQ / GPTQ w4g128: int32-packed 4-bit weights, fp16 scale and 4-bit packed zero per
    # group of 128 -> 64 + 2 + 0.5 bytes per 128 weights; expressed per 256 to stay integral.
    StorageFormat("w4g128", 256, 133, "int4",
                  "AWQ/GPTQ w4 group 128: 4-bit codes + fp16 scale + 4-bit zero per group"),
    # QServe progressive W4 (arXiv 2405.04532 sec. 4): per group of 128 an int8 scale and a
    # 4-bit zero, plus an fp16 per-channel scale: 2 groups = 128 + 2 + 1 bytes per 256.
    StorageFormat("w4g128_qserve", 256, 131, "int4",
                  "QServe W4 progressive: 4-bit codes, int8 scale + 4-bit zero per 128, fp16 per channel",
                  row_bytes=2),
    # KV cache int4 per head vector with an fp16 scale and fp16 zero (QServe KV4, KIVI-style
    # per-token values); the KV cache is laid out one head vector per row.
    StorageFormat("int4_kv", 2, 1, "int4", "int4 KV: 4-bit codes + fp16 scale and zero per head vector",
                  row_bytes=4),
    StorageFormat("w4g128_sym", 128, 66, "int4",
                  "symmetric w4 group 128: 4-bit codes + fp16 scale per group (QServe/QuaRot style)"),
    # bitnet.cpp I2_S: 2 bits per ternary weight, one fp32 scale per tensor.
    StorageFormat("i2_s", 4, 1, "ternary", "bitnet.cpp I2_S: 2-bit ternary codes, one scale per tensor",
                  tensor_bytes_fixed=4),
    # Power-of-two weights: sign + 3-bit exponent (with a zero code), per-channel fp16 scale.
    StorageFormat("pot4", 2, 1, "pot", "PoT 4-bit code (sign + exponent), per-channel fp16 scale",
                  row_bytes=2),
    StorageFormat("pot3", 8, 3, "pot", "PoT 3-bit code (sign + exponent), per-channel fp16 scale",
                  row_bytes=2),
    # KV cache: TurboQuant at 3 bits per coordinate plus one fp16 norm per vector (head_dim
    # coordinates); the norm is counted per row by the cache model.
    StorageFormat("turbo3", 8, 3, "fp16", "TurboQuant 3 bits per coordinate (+ fp16 norm per vector)",
                  row_bytes=2),
]



def _mlx_affine() -> list[StorageFormat]:
    """MLX affine quantization (``mlx.core.quantize(mode="affine")``): per group of ``g``
    weights along a row, ``g * bits / 8`` bytes of packed codes plus one scale and one bias in
    the weights' 16-bit dtype (fp16 or bf16), so ``bits + 32 / g`` bits per weight (4-bit g64:
    4.5, 4-bit g32: 5.0, 8-bit g64: 8.5). Named ``mlx_q{bits}_g{group}``."""
    src = ("MLX mlx.core.quantize, mode affine (ml-explore.github.io/mlx/build/html/python/"
           "_autosummary/mlx.core.quantize.html): groups of 32, 64 or 128, scale and bias per group "
           "in the input dtype; w = scale * w_q + bias")
    return [StorageFormat(f"mlx_q{bits}_g{g}", g, g * bits // 8 + 4, "fp16", src)
            for bits in (4, 6, 8) for g in (32, 64, 128)]


FORMATS: dict[str, StorageFormat] = {**_gguf_formats(), **{f.name: f for f in _OTHER + _mlx_affine()}}


def get(name: str) -> StorageFormat:
    """The storage format called ``name`` (case-insensitive)."""
    key = name.lower()
    if key not in FORMATS:
        raise unknown_name("storage format", name, sorted(FORMATS))
    return FORMATS[key]


def from_gguf_type(qtype: int) -> StorageFormat:
    """The storage format of a GGUF tensor type number."""
    try:
        name = GGMLQuantizationType(qtype).name.lower()
    except ValueError:
        known = ", ".join(f"{int(t)} {t.name}" for t in GGML_QUANT_SIZES)
        raise SimlowError(f"unknown GGML type id {qtype!r} (known: {known})") from None
    return get(name)
