import json

from simlow.cli import main


def test_report_from_saved_files(tmp_path, capsys, fake_prediction, fake_verdicts):
    (tmp_path / "p.json").write_text(json.dumps(fake_prediction))
    (tmp_path / "c.json").write_text(json.dumps(fake_verdicts))
    out = tmp_path / "r.html"
    assert main(["report", "-o", str(out), "--prediction", str(tmp_path / "p.json"),
                 "--claims", str(tmp_path / "c.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"html": str(out)}
    page = out.read_text()
    assert all(f'id="{f}"' in page for f in ("fig-memory", "fig-roofline", "fig-timeline", "fig-claims"))


def test_report_predicting_now(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "-o", str(out), "--model", "llama-2-7b", "--hw", "h100-sxm", "--stack", "ideal",
                 "--prompt", "64", "--gen", "4"]) == 0
    assert "wrote" in capsys.readouterr().out and 'id="fig-roofline"' in out.read_text()


def test_report_needs_model_and_hw_together(tmp_path, capsys):
    assert main(["report", "-o", str(tmp_path / "r.html"), "--model", "llama-2-7b"]) == 2
    assert "both --model and --hw" in capsys.readouterr().err
