"""The measured data's name mapping (workloads/measured/mapping.yaml) is data, read
strictly, and every name it maps to is a shipped spec, scheme or stack."""

from __future__ import annotations

import pytest

from simlow.errors import SimlowError
from simlow.sim.stack_load import stack_names
from simlow.specs import names
from simlow.validation.mapping import load_mapping, mapping_file


def test_every_mapped_name_is_shipped():
    m = load_mapping()
    assert set(m.devices.values()) <= set(names("hardware"))
    assert set(m.models.values()) - set(names("model")) <= {"glm-4.5-air"}   # not shipped: no spec field for its NTP layer
    assert set(m.quants.values()) | set(m.by_size_schemes.values()) <= set(names("scheme"))
    assert set(m.backends.values()) | set(m.vendor_stacks.values()) <= set(stack_names())
    assert not set(m.devices) & set(m.unmapped_devices)


def test_the_mapping_reaches_the_rows():
    from simlow.validation.validate import mapped_rows

    ok, _ = mapped_rows()
    assert {c.hw for _, c in ok} >= {"rtx-4090", "strix-halo", "m2-ultra", "a100-80gb-sxm"}


@pytest.mark.parametrize("edit,match", [
    ("devices:  ", "devices:  \n  oops: [1, 2]\n", ),
    ("schema_version: 1", "schema_version: 2"),
    ("vendor_stacks:", "colour: red\nvendor_stacks:"),
], ids=["not-a-name", "version", "unknown-key"])
def test_bad_mapping_is_refused_with_the_key(tmp_path, edit, match):
    text = mapping_file().read_text()
    assert edit in text
    bad = tmp_path / "mapping.yaml"
    bad.write_text(text.replace(edit, match, 1))
    with pytest.raises(SimlowError, match=r"mapping\.yaml: .*(oops|schema_version|colour)"):
        load_mapping(bad)
