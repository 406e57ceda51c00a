"""DRAM interface configurations named like ``lpddr5x-8533x64``.

Grammar (strict, lower case)::

    <type>-<data rate in MT/s>x<bus width in bits>     lpddr5x-8533x64
    <type>-<data rate in MT/s>                         lpddr5x-8533  (width left open: sizing sweeps it)

``type`` is a row of ``npu.yaml`` ``dram`` (lpddr4x, lpddr5, lpddr5x, ddr5); the data rate
is a whole number of MT/s no higher than the type's maximum; the width is a positive
multiple of the type's channel width (16 bits for LPDDR, 32 for DDR5). Peak bandwidth =
MT/s x 1e6 x width / 8 bytes per second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simlow.cost.memory import load_memory
from simlow.npu.data import NpuData, load_npu_data
from simlow.errors import SimlowError

_NAME = re.compile(r"^([a-z0-9]+)-([0-9]+)(?:x([0-9]+))?$")


@dataclass(frozen=True)
class DramConfig:
    """One DRAM interface: type, data rate and bus width (``width_bits`` 0 = left open)."""

    type: str
    mtps: int
    width_bits: int = 0

    @property
    def name(self) -> str:
        return f"{self.type}-{self.mtps}" + (f"x{self.width_bits}" if self.width_bits else "")

    @property
    def bandwidth_Bps(self) -> float:
        if not self.width_bits:
            raise SimlowError(f"DRAM {self.name} has no bus width (write it as {self.name}x64)")
        return self.mtps * 1e6 * self.width_bits / 8

    def channels(self, data: NpuData | None = None) -> int:
        d = data or load_npu_data()
        return self.width_bits // d.dram(self.type).channel_bits

    def device_pJ_per_bit(self) -> float:
        """DRAM device energy per bit (memory.yaml row of the type)."""
        return load_memory().get(load_npu_data().dram(self.type).memory_row).pJ_per_bit

    def with_width(self, width_bits: int) -> "DramConfig":
        return parse_dram(f"{self.type}-{self.mtps}x{width_bits}")


def parse_dram(text: str, open_width: bool = False, data: NpuData | None = None) -> DramConfig:
    """``"lpddr5x-8533x64"`` -> DramConfig; ``open_width`` allows ``"lpddr5x-8533"``."""
    d = data or load_npu_data()
    valid = ", ".join(t.name for t in d.dram_types)
    m = _NAME.match(str(text).strip())
    if not m:
        raise SimlowError(f"bad DRAM interface {text!r} (expected <type>-<MT/s>x<bits> such as lpddr5x-8533x64; "
                          f"types: {valid})")
    kind, rate, width = m[1], int(m[2]), m[3]
    dtype = d.dram(kind)
    if not 0 < rate <= dtype.max_MTps:
        raise SimlowError(f"DRAM {text!r}: {kind} runs at 1..{dtype.max_MTps} MT/s, got {rate}")
    if width is None:
        if not open_width:
            raise SimlowError(f"DRAM {text!r} has no bus width (expected e.g. {kind}-{rate}x64)")
        return DramConfig(kind, rate, 0)
    bits = int(width)
    if bits <= 0 or bits % dtype.channel_bits:
        raise SimlowError(f"DRAM {text!r}: the bus width must be a positive multiple of the "
                          f"{dtype.channel_bits}-bit {kind} channel, got {bits}")
    return DramConfig(kind, rate, bits)
