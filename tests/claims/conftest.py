"""Small hand-made specs for hand-worked claim cases (independent of hwspecs/)."""

from __future__ import annotations

import textwrap

import pytest

# A device with round numbers: 10 GB at 100 GB/s, 100 TFLOP/s fp16, 10 GB/s host link.
TOY_HW = """\
schema_version: 1
name: toy-gpu
title: Toy GPU (test device)
kind: gpu
source: "test fixture: round numbers"
node: 5 nm
power: {tdp: 100 W, idle: 10 W}
memories:
  - {name: vram, type: GDDR6, capacity: 10 GB, bandwidth: 100 GB/s, shared_by: [gpu]}
  - {name: host, type: DDR5, capacity: 64 GB, bandwidth: 50 GB/s, shared_by: [host]}
engines:
  - name: gpu
    kind: gpu
    memory: vram
    clock: 1 GHz
    peak: {fp16: 100 TFLOP/s, int8: 200 TOP/s}
links:
  - {name: pcie, kind: pcie4-x8, between: [vram, host], bandwidth: 10 GB/s}
"""

# A dense model with 1 GiB-ish of weights: 4 layers of 4096 x 4096 blocks.
TOY_MODEL = """\
schema_version: 1
name: toy-model
title: Toy dense model
family: llama
source: "test fixture"
vocab_size: 1024
hidden_size: 4096
layers: 4
heads: 32
kv_heads: 8
intermediate_size: 8192
ffn: gated
max_context: 8192
"""

TOY_MOE = """\
schema_version: 1
name: toy-moe
title: Toy MoE
family: qwen3moe
source: "test fixture"
vocab_size: 1024
hidden_size: 2048
layers: 4
heads: 16
kv_heads: 4
intermediate_size: 0
ffn: gated
max_context: 8192
moe: {experts: 16, top_k: 2, expert_intermediate_size: 4096}
"""


@pytest.fixture()
def specs(tmp_path):
    """Paths of the toy device and models, written into a temp dir."""
    out = {}
    for name, text in (("toy-gpu", TOY_HW), ("toy-model", TOY_MODEL), ("toy-moe", TOY_MOE)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        out[name] = str(path)
    return out


@pytest.fixture()
def small_gpu(tmp_path):
    """The toy device with only 2 GB of memory."""
    path = tmp_path / "toy-small.yaml"
    path.write_text(TOY_HW.replace("name: toy-gpu", "name: toy-small").replace("capacity: 10 GB", "capacity: 2 GB"))
    return str(path)


@pytest.fixture()
def claims_file(tmp_path):
    """A writer: YAML claim-file body (after schema_version) -> path of the written file."""
    def write(body: str, name: str = "claims.yaml") -> str:
        path = tmp_path / name
        path.write_text("schema_version: 1\n" + textwrap.dedent(body))
        return str(path)
    return write
