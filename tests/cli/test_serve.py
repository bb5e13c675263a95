"""``refinedweb serve`` refuses bad options before serving (the HTTP API is tested in tests/model/test_serve.py)."""

from refinedweb.cli import main


def test_bad_port_and_missing_model_exit_2(tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["serve", "--model", str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err
    assert main(["serve", "--model", str(tmp_path), "--max-body-bytes", "0"]) == 2
    assert "--max-body-bytes" in capsys.readouterr().err
