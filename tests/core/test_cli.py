import json

from simlow.cli import main


def test_fit_json(capsys):
    assert main(["fit", "--model", "llama-2-7b", "--hw", "h100-sxm", "--scheme", "q4_0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fits"] is True and out["memory"]["weight_total_bytes"] > 3.5 * 2**30


def test_bad_input_exits_2_with_one_line(capsys):
    assert main(["fit", "--model", "llama-2-7b", "--hw", "nope", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("simlow fit: error: unknown hardware 'nope'")


def test_negative_batch(capsys):
    assert main(["fit", "--model", "llama-2-7b", "--hw", "h100-sxm", "--batch", "-1"]) == 2
    assert "batch must be" in capsys.readouterr().err


def test_hw_show_json_has_sources(capsys):
    assert main(["hw", "show", "h100-sxm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert all(v["source"] for v in out["sources"].values())
    assert out["memories"][0]["bandwidth_Bps"] == 3.35e12


def test_hw_list_and_models(capsys):
    assert main(["hw", "list", "--json"]) == 0
    assert any(h["name"] == "h100-sxm" for h in json.loads(capsys.readouterr().out))
    assert main(["models", "--json"]) == 0
    assert any(m["name"] == "llama-2-7b" for m in json.loads(capsys.readouterr().out))
