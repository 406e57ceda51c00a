"""simlow.cost: energy, area and delay of hardware, priced apart from counting.

Layering (each module imports only those above it):

- Float layouts come from ``simlow.numerics``; strict YAML reading and numbers with
  provenance are ``simlow.specs.yamlfile`` and ``simlow.specs.sourced``, shared with the
  hardware specs.
- ``widthmodel``: how cost grows with width (the documented models) and anchor curves.
- ``primitives``, ``memory``, ``scaling``: the tables in ``simlow/data/cost/*.yaml``
  (every number with its source and a confidence tag) and node scaling rules.
- ``pricing``: energy/area of one primitive at a node; pricing of ``simlow.events`` counts.
- ``delay``, ``macs``: critical-path delay model and MAC units described by their parts.
- ``maccompare``: the PoT-vs-INT MAC array comparison for the OrpQuant article's hardware claim.

The package imports nothing of simlow but ``errors``, ``events`` and ``specs``; NPU designs
(``simlow.npu``) and the simulator build on it. It never imports JAX and never prints; the
CLI (``simlow cost``) shows its tables.
"""

from simlow.cost.maccompare import IntStyle, MacComparison, compare_macs
from simlow.cost.memory import load_memory
from simlow.cost.pricing import PricedCounts, Tech, event_area_um2, event_energy_pJ, price_components, price_counts
from simlow.cost.scaling import ScalingRule, parse_node
from simlow.cost.techtable import TechTable, technology_table
from simlow.cost.macs import (BF16_MAC_FP32_ACC, FP8_MAC_NARROW_ACC, FpMac, IntMac, PotMac, TernaryLane, UnitCost,
                               pot_mac_for_code, unit_cost)

__all__ = [
    "BF16_MAC_FP32_ACC", "FP8_MAC_NARROW_ACC", "FpMac", "IntMac", "IntStyle", "MacComparison", "PotMac",
    "PricedCounts", "ScalingRule", "Tech", "TechTable", "TernaryLane", "UnitCost", "compare_macs",
    "event_area_um2", "event_energy_pJ", "load_memory", "parse_node", "pot_mac_for_code", "price_components",
    "price_counts", "technology_table", "unit_cost",
]
