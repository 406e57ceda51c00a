"""Offload reaches the DES through the public predict and the CLI."""

import json

import pytest

import simlow
from simlow.cli import main
from simlow.errors import SimlowError
from simlow.sim.offload_spec import ExpertCacheSpec, Offload, offload_from


def test_offload_from_text_and_mapping_agree():
    text = offload_from("experts=static,fraction=0.25,ring=4,seed=3")
    mapping = offload_from({"experts": "static", "fraction": 0.25, "ring": 4, "seed": 3})
    assert text == mapping == Offload(expert_cache=ExpertCacheSpec("static", 0.25, 4, 3))
    assert offload_from("device_layers=20,host=stream") == Offload(device_layers=20, host="stream")
    assert offload_from("device_layers=20") == Offload(device_layers=20, host="auto")


@pytest.mark.parametrize("bad,fragment", [
    ("nonsense", "key=value"),
    ("experts=mru", "unknown expert cache policy 'mru'"),
    ("layers=3", "unknown key 'layers'"),
    ("fraction=0.5", "add experts="),
    ("device_layers=x", "device_layers must be a int"),
])
def test_offload_from_refuses(bad, fragment):
    with pytest.raises(SimlowError, match=fragment):
        offload_from(bad)


def test_offload_runs_the_des_and_is_slower_than_all_on_device():
    kw = dict(scheme="q4_k_m", prompt=64, gen=16)
    full = simlow.predict("qwen3-30b-a3b", "rtx-4090", **kw)
    off = simlow.predict("qwen3-30b-a3b", "rtx-4090", offload="experts=lru,fraction=0.25", **kw)
    assert off.fidelity == "des"
    assert off.decode_tok_s < full.decode_tok_s
    assert off.memory["device_bytes"] < full.memory["total_bytes"]


def test_cli_offload_json(capsys):
    code = main(["predict", "--model", "llama-2-7b", "--hw", "rtx-3060-12gb", "--scheme", "q4_0", "--prompt", "16",
                 "--gen", "8", "--offload", "device_layers=16,host=stream", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fidelity"] == "des" and out["memory"]["host_bytes"] > 0
