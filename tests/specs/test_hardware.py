"""Hardware specs: every shipped device loads, the required names exist, every number has a source."""

import pytest

from simlow.specs import load_hw, names
from simlow.specs.hardware import DeviceKind

REQUIRED = ("h100-sxm", "h100-pcie", "h200", "a100-80gb-sxm", "l40s", "rtx-3090", "rtx-4090", "rtx-5090",
            "rtx-4060ti-16gb", "rtx-5060ti-16gb", "strix-halo", "dgx-spark", "m1-max", "m2-ultra", "m3-max",
            "m4-pro", "m4-max", "snapdragon-8-elite", "edge-npu-28nm")


def test_required_hardware_is_shipped():
    missing = set(REQUIRED) - set(names("hardware"))
    assert not missing


@pytest.mark.parametrize("name", names("hardware"))
def test_every_device_loads_with_sources(name):
    h = load_hw(name)
    assert h.name == name
    assert h.primary.peak_ops and all(v > 0 for v in h.primary.peak_ops.values())
    assert h.main_memory.bandwidth_Bps > 0 and h.main_memory.usable_bytes > 0
    for path, s in h.sources.items():
        assert s.source.strip(), path
    # every bandwidth and peak rate read was recorded with its source
    assert any(p.endswith("bandwidth") for p in h.sources)
    if h.kind is DeviceKind.GPU:
        assert h.host_link() is not None, "a discrete GPU needs a host link"


@pytest.mark.parametrize("name,bw_GBps,fp16_T", [
    ("h100-sxm", 3350, 989.4), ("a100-80gb-sxm", 2039, 312), ("rtx-4090", 1008, 165.2),
    ("rtx-5090", 1792, 209.6), ("rtx-4060ti-16gb", 288, 44.1),
])
def test_headline_figures(name, bw_GBps, fp16_T):
    """Bandwidths match validation/device_specs.csv; fp16 is the dense tensor rate."""
    h = load_hw(name)
    assert h.main_memory.bandwidth_Bps == pytest.approx(bw_GBps * 1e9)
    assert h.primary.peak("fp16") == pytest.approx(fp16_T * 1e12)
