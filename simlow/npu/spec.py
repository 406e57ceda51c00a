"""An NPU design as a hardware spec: the YAML text (``to_yaml``) and the ``HardwareSpec``
(``to_hardware_spec``) the performance simulator runs.

The spec is read back from the very text ``to_yaml`` writes, by the same strict reader as
every file in ``hwspecs/`` (``simlow.specs.hardware.read_hardware``), so a generated design
and a shipped file cannot differ. Numbers are written to 6 significant digits; the spec
holds exactly what the text says. Every number's source names the design computation
(``derived: simlow.npu.design ...``) or the design choice behind it.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import yaml

from simlow.npu.design import ASSUMPTIONS, NpuCost, NpuDesign, evaluate, served_formats
from simlow.cost.sram import load_fit
from simlow.npu.data import load_npu_data
from simlow.specs.hardware import HardwareSpec, read_hardware

_GEN = "derived: simlow.npu.design"


def _q(value: float, unit: str, scale: float) -> str:
    return f"{value / scale:.6g} {unit}"


def _ops(v: float) -> str:
    return _q(v, "TOP/s", 1e12) if v >= 1e12 else _q(v, "GOP/s", 1e9)


def _choice(design: NpuDesign, key: str, text: str) -> str:
    why = design.reason(key)
    return f"design choice: {text}" + (f" ({why})" if why else "")


def spec_document(design: NpuDesign, cost: NpuCost | None = None) -> dict:
    """The spec as plain YAML data (every number with its source)."""
    c = cost or evaluate(design)
    d, data = design, load_npu_data()
    bank = d.bank_bytes or int(data.bank_bytes.value)
    u = f"{d.arrays} x {d.array_side}x{d.array_side} {d.unit} array(s) = {d.macs} units"
    if d.clock_Hz is not None:
        clock_src = f"design choice: clock {d.clock_Hz / 1e9:.4g} GHz given x derate {d.clock_derate:g}"
    else:
        m = c.clock_model
        clock_src = (f"{_GEN}: design clock of the {d.unit} array at {d.node_nm} nm {m.clock_Hz / 1e9:.4g} GHz "
                     f"({m.bound}-bound, simlow.cost.clock; floor fitted on TPU v1 700 MHz at 28 nm; "
                     f"SRAM bank access bound {m.sram_bound_Hz / 1e9:.4g} GHz) "
                     f"x derate {d.clock_derate:g}; unit logic fmax {c.fmax_Hz / 1e9:.4g} GHz "
                     f"({c.unit.path_fo4:g} FO4 critical path, simlow.cost.macs)")
        if d.vdd_V is not None or d.logic_stages != 1:
            vdd = "nominal supply" if d.vdd_V is None else f"{d.vdd_V:g} V"
            clock_src += f"; at {vdd}, the unit's logic in {d.logic_stages} pipeline stage(s)"
    if d.reason("clock"):
        clock_src += f" ({d.reason('clock')})"
    peak = {}
    for fmt in sorted(c.peak_ops):
        on_array = fmt in served_formats(d.unit) and c.peak_ops[fmt] == 2.0 * d.macs * c.clock_Hz
        what = f"{u} x 2 ops x clock" if on_array else f"{d.vector_lanes} FP32 FMA vector lanes x 2 ops x clock"
        peak[fmt] = {"value": _ops(c.peak_ops[fmt]), "source": f"{_GEN}: {what}"}
    parts = ", ".join(f"{k} {v:.4g} W" for k, v in c.tdp_parts_W.items())
    area = ", ".join(f"{k} {v:.4g} mm2" for k, v in c.area_mm2.items())
    dev = d.dram.device_pJ_per_bit()
    return {
        "schema_version": 1,
        "name": d.label,
        "title": f"simlow NPU design: {u}, {d.vector_lanes} vector lanes, {d.sram_bytes // 1024} KiB SRAM, "
                 f"{d.dram.name}, {d.node_nm} nm, {c.total_area_mm2:.3g} mm2",
        "kind": "npu",
        "source": f"{_GEN} design {d.label}: area {area} (tables in simlow/data/cost/)",
        "node": {"value": f"{d.node_nm} nm", "source": _choice(d, "node", f"{d.node_nm} nm")},
        "power": {
            "tdp": {"value": _q(c.tdp_W, "W", 1.0), "source": f"{_GEN}: static + all units busy + DRAM at peak: {parts}"},
            "idle": {"value": _q(c.static_W, "W", 1.0),
                     "source": f"{_GEN}: leakage {data.logic_leak_W_per_mm2.value:g} W/mm2 logic "
                               f"(simlow/data/cost/npu.yaml), {load_fit().leak_W_per_mm2:.3g} W/mm2 SRAM "
                               f"(simlow.cost.sram, CACTI 45 nm macros) x area"},
            "onchip_energy_per_bit": {
                "value": _q(c.sram_pJ_per_byte / 8, "pJ/bit", 1.0),
                "source": f"{_GEN}: every DRAM byte written into and read out of the SRAM once "
                          f"({c.sram_pJ_per_byte:.4g} pJ per byte)"},
        },
        "memories": [
            {"name": "dram", "type": d.dram.type.upper(),
             "capacity": {"value": f"{d.capacity_GB:g} GB", "source": _choice(d, "capacity", f"{d.capacity_GB:g} GB")},
             "bandwidth": {"value": _q(d.dram.bandwidth_Bps, "GB/s", 1e9),
                           "source": _choice(d, "dram", f"{d.dram.name} = {d.dram.mtps} MT/s x {d.dram.width_bits} bits / 8")},
             "energy_per_bit": {"value": _q(c.dram_pJ_per_bit, "pJ/bit", 1.0),
                                "source": f"{_GEN}: device {dev:g} pJ/bit (memory.yaml {d.dram.type}) + PHY "
                                          f"{data.phy_pJ_per_bit.value:g} pJ/bit (npu.yaml phy)"},
             "shared_by": ["npu"]},
            {"name": "sram", "type": "SRAM",
             "capacity": {"value": f"{d.sram_bytes // 1024} KiB", "source": _choice(d, "sram", f"{d.sram_bytes // 1024} KiB")},
             "bandwidth": {"value": _q(c.sram_bandwidth_Bps, "GB/s", 1e9),
                           "source": f"{_GEN}: banks of {bank} B x "
                                     f"{int(data.bank_width_bits.value)} bits per cycle x clock"},
             "energy_per_bit": {"value": _q(c.sram_pJ_per_byte / 16, "pJ/bit", 1.0),
                                "source": f"{_GEN}: one {int(data.bank_width_bits.value)}-bit access of a "
                                          f"{bank}-byte bank (simlow.cost.sram macro model)"},
             "shared_by": ["npu"]},
        ],
        "engines": [{"name": "npu", "kind": "npu", "memory": "dram",
                     "clock": {"value": _q(c.clock_Hz, "GHz", 1e9), "source": clock_src},
                     "units": d.macs, "peak": peak}],
    }


def to_yaml(design: NpuDesign, cost: NpuCost | None = None) -> str:
    """The YAML text of ``design`` as a hardware spec (deterministic: same design, same text)."""
    head = ["# Generated by simlow.npu.spec.to_yaml; regenerate, do not edit by hand.",
            "# Design assumptions (simlow.npu.design.ASSUMPTIONS):"]
    head += [f"#  - {a}" for a in ASSUMPTIONS]
    body = yaml.safe_dump(spec_document(design, cost), sort_keys=False, width=10_000, allow_unicode=True)
    return "\n".join(head) + "\n" + body


def to_hardware_spec(design: NpuDesign, cost: NpuCost | None = None) -> HardwareSpec:
    """The ``HardwareSpec`` of ``design``, read by ``read_hardware`` from ``to_yaml``'s text."""
    text = to_yaml(design, cost)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{design.label}.yaml"
        path.write_text(text)
        spec = read_hardware(path)
    return replace(spec, origin=f"simlow.npu.design:{design.label}")
