"""A datapath unit is priced from the config the bit-exact model runs (cost.datapath_units)."""

from __future__ import annotations

import dataclasses

import pytest

from simlow.cost import IntMac, Tech, unit_cost
from simlow.cost.datapath_units import datapath_unit_cost, mac_of
from simlow.cost.macs import FpMac, PotMac, TernaryLane, pot_mac_for_code
from simlow.datapath.configs import TernaryLutUnit
from simlow.datapath.registry import UNITS, get_unit
from simlow.errors import SimlowError

T28 = Tech(28)


@pytest.mark.parametrize("name", sorted(UNITS))
def test_every_registered_unit_is_priced_or_refused_with_a_reason(name):
    unit = UNITS[name]
    if isinstance(unit, TernaryLutUnit):
        with pytest.raises(SimlowError, match="no structure"):
            mac_of(unit)
        return
    cost = datapath_unit_cost(name, T28)
    assert cost.area_um2 > 0 and cost.energy_pJ_per_op > 0 and cost.delay_ps > 0


def test_the_mapping_reads_the_same_widths():
    int8 = get_unit("int8_tensor_core")
    assert mac_of(int8) == IntMac(8, 8, 32)
    assert mac_of(get_unit("int4x8_tensor_core")) == IntMac(8, 4, 32)
    assert mac_of(get_unit("ternary_tree")) == TernaryLane(8)
    assert mac_of(get_unit("bf16_mac_fp32")) == FpMac("bf16", "fp32")
    assert mac_of(get_unit("h100-fp8-fast")) == FpMac("e4m3", "e8m13")
    # 8 exponents (-7..0) + a zero code need 4 magnitude bits + a sign bit
    pot = mac_of(get_unit("pot_shift_add"))
    assert pot == PotMac(8, 7, 32, 5, second_term=False)
    assert mac_of(get_unit("residual_pot_shift_add")).second_term
    # pot_mac_for_code's convention: 2^(c-1) - 1 exponents and a zero code in c bits
    assert mac_of(dataclasses.replace(get_unit("pot_shift_add_left"), exp_max=6)).code_bits == \
        pot_mac_for_code(4, 8, 32).code_bits


def test_changing_the_datapath_config_changes_its_cost():
    int8 = get_unit("int8_tensor_core")
    narrow = dataclasses.replace(int8, name="acc24", acc_bits=24)
    assert unit_cost(mac_of(narrow), T28).area_um2 < unit_cost(mac_of(int8), T28).area_um2


def test_an_accumulator_layout_the_cost_model_lacks_is_refused():
    odd = dataclasses.replace(get_unit("h100-fp8-fast"), name="fp8-acc10", frac_bits=10)
    with pytest.raises(SimlowError, match="e8m10"):
        mac_of(odd)
