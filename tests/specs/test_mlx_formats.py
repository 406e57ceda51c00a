"""MLX affine storage formats against the array shapes mlx.core.quantize returns.

MLX packs the codes of a ``rows x cols`` weight into uint32 words (``cols * bits / 32`` per
row) and returns one scale and one bias per group of ``group_size`` values in the input's
16-bit dtype (``rows x cols / group_size`` each). The byte count from those shapes must equal
``simlow.formats``' sizing; the MLX schemes size every tensor with these formats.
"""

import pytest

from simlow import formats
from simlow.specs import load_model, load_scheme
from simlow.specs.scheme import weight_bytes
from simlow.specs.tensors import param_count


def _mlx_shape_bytes(rows: int, cols: int, bits: int, group: int) -> int:
    words_per_row = cols * bits // 32          # w_q: uint32 [rows, cols * bits / 32]
    groups_per_row = cols // group             # scales, biases: fp16/bf16 [rows, cols / group]
    return rows * words_per_row * 4 + 2 * rows * groups_per_row * 2


@pytest.mark.parametrize("bits", [4, 6, 8])
@pytest.mark.parametrize("group", [32, 64, 128])
@pytest.mark.parametrize("rows,cols", [(1, 128 * 3), (4096, 4096), (14336, 4096), (11, 1152 * 3)])
def test_sizes_equal_mlx_array_shapes(bits, group, rows, cols):
    if cols % group:
        pytest.skip("MLX requires the last dimension to be a multiple of the group size")
    fmt = formats.get(f"mlx_q{bits}_g{group}")
    assert fmt.tensor_bytes(rows, cols) == _mlx_shape_bytes(rows, cols, bits, group)
    assert fmt.bits_per_weight == bits + 32 / group


def test_mlx_q4_scheme_is_4_5_bits_everywhere():
    """mlx-q4 quantizes every linear layer and the embedding at 4 bits, group 64: the model's
    weights take 4.5 bits each except the 16-bit norm vectors."""
    m = load_model("llama-3.2-1b")
    bits = weight_bytes(m, load_scheme("mlx-q4")) * 8 / param_count(m)
    assert 4.5 <= bits < 4.52
