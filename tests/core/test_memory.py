import pytest

import simlow
from simlow.errors import SimlowError
from simlow.memory import fit, footprint, kv_bytes_per_sequence, weight_bytes_by_part

GiB = 2**30


def test_llama2_7b_q4_0_gguf_size():
    m, s = simlow.load_model("llama-2-7b"), simlow.load_scheme("q4_0")
    total = sum(weight_bytes_by_part(m, s).values())
    assert total / GiB == pytest.approx(3.56, rel=0.01)  # llama-bench prints 3.56 GiB


def test_kv_cache_by_hand():
    m, s = simlow.load_model("llama-2-7b"), simlow.load_scheme("q4_0")
    # f16 K and V: layers x 2 x kv_heads x head_dim x 2 bytes per token
    assert kv_bytes_per_sequence(m, s, 1000) == 32 * 2 * 32 * 128 * 2 * 1000


def test_fit_answers_and_bounds():
    r = fit("llama-2-7b", "h100-sxm", "q4_0", ctx=4096)
    assert r.fits and r.max_context == 4096
    fp = r.footprint
    assert fp.total_bytes == fp.weight_total_bytes + fp.kv_cache_bytes + fp.activation_bytes
    # the largest batch fits and one more does not
    m, hw, s = simlow.load_model("llama-2-7b"), simlow.load_hw("h100-sxm"), simlow.load_scheme("q4_0")
    assert footprint(m, hw, s, 4096, r.max_batch).fits
    assert not footprint(m, hw, s, 4096, r.max_batch + 1).fits


@pytest.mark.parametrize("kwargs,fragment", [
    ({"batch": 0}, "batch must be"),
    ({"batch": -2}, "batch must be"),
    ({"ctx": 100000}, "exceeds llama-2-7b's maximum of 4096"),
    ({"scheme": "q4_00"}, "unknown scheme 'q4_00'; did you mean q4_0"),
])
def test_bad_input(kwargs, fragment):
    args = {"model": "llama-2-7b", "hw": "h100-sxm", "scheme": "q4_0", **kwargs}
    with pytest.raises(SimlowError, match=fragment):
        fit(**args)


def test_unknown_hw_suggests():
    with pytest.raises(SimlowError, match="did you mean h100-sxm"):
        fit("llama-2-7b", "h100-sxn")
