"""NPU designs shipped as files in ``hwspecs/``: each file is exactly ``to_yaml`` of its design.

``tests/npu`` checks every file listed here equals the text the code generates, so a change
to the cost tables or the design rules shows up as a diff to regenerate (``write_shipped``).
"""

from __future__ import annotations

from pathlib import Path

from simlow.npu.dram import parse_dram
from simlow.npu.design import NpuDesign
from simlow.npu.spec import to_yaml

EDGE_NPU_28NM = NpuDesign(
    unit="int8", array_side=64, arrays=1, sram_bytes=2 * 1024 * 1024, dram=parse_dram("lpddr4x-4266x32"),
    node_nm=28, capacity_GB=8, vector_lanes=64, clock_derate=1.0, name="edge-npu-28nm",
    why=(("node", "template node: BitMoD HPCA 2025 simulates its PE array at 28 nm "
                   "(github.com/yc2367/BitMoD-HPCA-25 @58d7bdb)"),
         ("dram", "one x32 LPDDR4X-4266 package, as in the original edge-npu-28nm template"),
         ("capacity", "one x32 LPDDR4X package of 8 GB"),
         ("sram", "1 MiB weight + 1 MiB activation buffer "
                  "(BitMoD uses 512 KB each, github.com/yc2367/BitMoD-HPCA-25 @58d7bdb)"),
         ("clock", "the modelled design clock (simlow.cost.clock: register overhead, skew margin, slow-corner "
                   "derating, SRAM bank access and the floor fitted on TPU v1), not derated further")),
)

SHIPPED: dict[str, NpuDesign] = {"edge-npu-28nm": EDGE_NPU_28NM}


def write_shipped(hwspec_dir: Path) -> list[Path]:
    """Write every shipped design's YAML into ``hwspec_dir``; returns the paths written."""
    out = []
    for name, design in SHIPPED.items():
        path = Path(hwspec_dir) / f"{name}.yaml"
        path.write_text(to_yaml(design))
        out.append(path)
    return out
