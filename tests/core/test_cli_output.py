"""What the CLI prints and returns: exit codes scripts branch on, whole tables when piped,
JSON errors, one unit family, no silently ignored flag."""

import json
import re

import pytest
import yaml

from simlow.cli import EXIT_CODES, build_parser, main
from simlow.specs import load_hw, load_model, names


def test_fit_exit_code_says_whether_it_fits(capsys):
    assert main(["fit", "--model", "llama-3-8b", "--hw", "rtx-4090", "--scheme", "q4_k_m"]) == 0
    assert main(["fit", "--model", "llama-3-70b", "--hw", "rtx-4090", "--scheme", "q4_k_m"]) == 3
    assert "does NOT fit" in capsys.readouterr().out
    assert main(["fit", "--model", "llama-3-70b", "--hw", "rtx-4090", "--scheme", "q4_k_m", "--json"]) == 3
    assert json.loads(capsys.readouterr().out)["fits"] is False


def test_predict_exit_code_says_whether_it_fits(capsys):
    assert main(["predict", "--model", "llama-3-8b", "--hw", "rtx-4090", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fits"] is True
    assert main(["predict", "--model", "llama-3-70b", "--hw", "rtx-4090", "--scheme", "q4_k_m"]) == 3


def test_exit_codes_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "exit codes:" in out and re.search(r"^  3 .*does not fit", out, re.M)
    assert EXIT_CODES.splitlines()[0] == "exit codes:"


def test_both_verbs_say_which_context_they_size(capsys):
    main(["fit", "--model", "llama-3-8b", "--hw", "rtx-4090"])
    assert "KV cache (4096 tokens x 1, default --ctx)" in capsys.readouterr().out
    main(["fit", "--model", "llama-3-8b", "--hw", "rtx-4090", "--ctx", "1000"])
    assert "KV cache (1000 tokens x 1)" in capsys.readouterr().out
    main(["predict", "--model", "llama-3-8b", "--hw", "rtx-4090", "--prompt", "100", "--gen", "20"])
    assert "memory (KV cache 120 tokens x 1, default --ctx)" in capsys.readouterr().out


def test_longest_context_says_which_limit_binds(capsys):
    model_max = load_model("llama-3-8b").max_context
    main(["fit", "--model", "llama-3-8b", "--hw", "rtx-4090", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert d["max_context"] == model_max and d["max_context_limit"] == "model"
    main(["fit", "--model", "llama-3-8b", "--hw", "rtx-4090"])
    assert f"{model_max} tokens (the model's maximum; memory is not the limit)" in capsys.readouterr().out
    main(["fit", "--model", "llama-3.1-8b", "--hw", "rtx-4060ti-16gb", "--ctx", "2048", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert d["max_context_limit"] == "memory" and 2048 < d["max_context"] < d["model_max_context"]
    main(["fit", "--model", "llama-3.1-8b", "--hw", "rtx-4060ti-16gb", "--ctx", "2048"])
    assert f"{d['max_context']} tokens (memory-bound; the model allows {d['model_max_context']})" \
        in capsys.readouterr().out


def test_json_error_object_on_stdout(capsys):
    assert main(["fit", "--model", "llama-2-7b", "--hw", "nope", "--json"]) == 2
    cap = capsys.readouterr()
    err = json.loads(cap.out)["error"]
    assert err["exit_code"] == 2 and err["command"] == "fit"
    assert err["message"].startswith("unknown hardware 'nope'")
    assert cap.err.startswith("simlow fit: error: unknown hardware 'nope'")


def test_json_error_for_a_bad_command_line(capsys):
    assert main(["fit", "--model", "llama-2-7b", "--json"]) == 2
    cap = capsys.readouterr()
    assert "required: --hw" in json.loads(cap.out)["error"]["message"]
    assert "simlow fit: error: the following arguments are required: --hw" in cap.err
    assert main(["fit", "--model", "llama-2-7b"]) == 2
    assert capsys.readouterr().out == ""                # no JSON unless asked


def test_routing_on_a_dense_model_is_refused(capsys):
    assert main(["predict", "--model", "llama-3-8b", "--hw", "rtx-4090", "--routing", "zipf:1"]) == 2
    err = capsys.readouterr().err
    assert "--routing" in err and "llama-3-8b is a dense model" in err
    assert main(["predict", "--model", "qwen3-30b-a3b", "--hw", "m4-max", "--routing", "zipf:1", "--json"]) == 0


def _cells(out: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│")]


def test_piped_tables_keep_every_name_whole(capsys):
    """capsys is not a terminal: the tables must not be cut at 80 columns."""
    main(["hw", "list"])
    rows = _cells(capsys.readouterr().out)
    assert [r[0] for r in rows] == list(names("hardware"))
    assert [r[1] for r in rows] == [load_hw(n).title for n in names("hardware")]
    assert max(len(r[1]) for r in rows) > 40                       # a wide table, not a narrow one
    main(["models"])
    out = capsys.readouterr().out
    assert [r[0] for r in _cells(out)] == list(names("model")) and "…" not in out


def test_piped_number_tables_are_not_ellipsized(capsys):
    formats = ["q4_0", "q8_0", "mxfp4", "nvfp4", "pot4", "tq2_0"]
    main(["quant", "compare", "--formats", ",".join(formats), "--synthetic", "heavy-tailed", "--json"])
    rows = json.loads(capsys.readouterr().out)["rows"]
    main(["quant", "compare", "--formats", ",".join(formats), "--synthetic", "heavy-tailed"])
    out = capsys.readouterr().out
    cells = _cells(out)
    assert "…" not in out and [c[0] for c in cells] == formats
    for key, col in (("mse", 3), ("sqnr_db", 4), ("max_err", 5), ("ip_bias", 6), ("ip_var", 7)):
        assert [float(c[col]) for c in cells] == pytest.approx([r[key] for r in rows], rel=5e-3)


def test_piped_table_wider_than_80_columns_is_whole(capsys):
    main(["cost", "compare-macs", "--node", "28nm", "--json"])
    ratios = json.loads(capsys.readouterr().out)["ratios"]
    main(["cost", "compare-macs", "--node", "28nm"])
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "area (each at own fmax)" in line)
    assert len(header) > 80 and "…" not in out
    assert [c.strip() for c in header.split("┃")[1:-1]] == [
        "design", "vs", "area (same clock)", "clock", "area (each at own fmax)", "energy/MAC", "area <= 1/3",
        "clock >= 2x"]
    claim_rows = _cells(out.split(header)[1])
    assert [(r[0], r[1]) for r in claim_rows] == [(r["design"], r["baseline"]) for r in ratios]


def test_hw_list_memory_is_binary_and_bandwidth_decimal(capsys):
    main(["hw", "list"])
    out = capsys.readouterr().out
    assert "GiB = 2^30 B" in out and "GB/s = 10^9 B/s" in out
    h = load_hw("rtx-4090").main_memory
    row = next(r for r in _cells(out) if r[0] == "rtx-4090")
    assert row[3] == f"{h.capacity_bytes / 2**30:.2f} GiB {h.type}" and row[4] == f"{h.bandwidth_Bps / 1e9:g} GB/s"
    main(["hw", "list", "--json"])
    d = next(x for x in json.loads(capsys.readouterr().out) if x["name"] == "rtx-4090")
    assert d["memory_GiB"] == round(h.capacity_bytes / 2**30, 2)


def test_sweep_where_every_point_is_rejected_exits_1(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump({"sweep": 1, "name": "bad", "evaluate": "fit",
                                    "axes": {"ctx": [100000, 200000]},
                                    "fixed": {"model": "llama-2-7b", "hw": "h100-sxm", "scheme": "q4_0"}}))
    assert main(["sweep", str(spec), "-o", str(tmp_path / "bad.jsonl"), "--workers", "1", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["rejected"] == summary["recorded"] == 2
    spec.write_text(spec.read_text().replace("100000", "1000"))
    assert main(["sweep", str(spec), "-o", str(tmp_path / "ok.jsonl"), "--workers", "1", "--json"]) == 0
