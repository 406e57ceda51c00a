"""Event counts are JSON as they are: keys are the event texts the README shows."""

import copy
import json
import pickle

import numpy as np
import pytest

from simlow import datapath
from simlow.cost.pricing import Tech, price_counts
from simlow.cost.scaling import ScalingRule, parse_node
from simlow.errors import SimlowError
from simlow.events import Event, Op


def _int8_counts():
    rng = np.random.default_rng(0)
    return datapath.run("int8_tensor_core", rng.integers(-128, 128, (1, 32)), rng.integers(-128, 128, (32, 32)))[1]


def test_run_counts_dump_to_the_readme_keys():
    counts = _int8_counts()
    assert json.loads(json.dumps(counts)) == {"int_mul:8b:x8": 1024, "int_add:32b": 1024, "reg_write:32b": 32}
    assert counts["int_mul:8b:x8"] == counts[Event(Op.INT_MUL, 8, 8)] == 1024


@pytest.mark.parametrize("event", [Event(Op.INT_MUL, 8, 8), Event(Op.FP_ADD, fmt="fp32"), Event(Op.SKIP),
                                   Event(Op.SHIFT, 24, 31), Event(Op.LUT_READ, 16, 256), Event(Op.INT_ADD, 0, 4)])
def test_event_text_round_trips(event):
    again = Event.parse(str(event))
    assert (again.op, again.width, again.width2, again.fmt) == (event.op, event.width, event.width2, event.fmt)
    assert pickle.loads(pickle.dumps(event)).to_dict() == event.to_dict() == copy.deepcopy(event).to_dict()
    assert json.loads(json.dumps(event.to_dict()))["op"] == event.op.value


def test_event_is_immutable_and_bad_text_is_refused():
    with pytest.raises(AttributeError):
        Event(Op.INT_ADD, 32).width = 8
    for bad in ("int_mul:8x:8", "mul:8b", "int_add:32b:32b"):
        with pytest.raises(SimlowError):
            Event.parse(bad)


def test_counts_price_the_same_after_a_json_round_trip():
    tech = Tech(parse_node("28nm"), ScalingRule("stillmaker"))
    counts = _int8_counts()
    direct, loaded = price_counts(counts, tech), price_counts(json.loads(json.dumps(counts)), tech)
    assert loaded.rows == direct.rows and loaded.total_pJ == direct.total_pJ > 0
