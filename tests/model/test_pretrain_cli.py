"""`refinedweb pretrain` through main(argv), and the example configs in configs/pretrain/ (each one is loaded)."""

from pathlib import Path

import pytest

from refinedweb.cli import main
from refinedweb.config import load_yaml
from refinedweb.model.pretrain import PretrainConfig

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs" / "pretrain").glob("*.yaml"))


def test_cli_trains_and_reports(shards, tmp_path, capsys):
    code = main([
        "pretrain", "--preset", "tiny", "--data", str(shards), "--output", str(tmp_path / "run"), "--max-steps", "3",
        "--device", "cpu", "--set", "seq_len=32", "--set", "batch_size=2", "--set", "eval_interval=3",
        "--set", "verbose=false", "--set", "lr=3e-3",
    ])
    assert code == 0
    assert "trained 3 steps" in capsys.readouterr().out
    assert (tmp_path / "run" / "final" / "model.safetensors").is_file()
    assert load_yaml(tmp_path / "run" / "run_config.yaml")["lr"] == 0.003  # "3e-3" is a string to YAML 1.1


def test_cli_config_errors_exit_2(shards, tmp_path, capsys):
    assert main(["pretrain", "--preset", "huge", "--data", str(shards), "--output", str(tmp_path)]) == 2
    assert "unknown preset" in capsys.readouterr().err
    assert main(["pretrain", "--data", str(shards), "--output", str(tmp_path)]) == 2  # neither --preset nor --config
    bad = tmp_path / "bad.yaml"
    bad.write_text("preset: tiny\nlearnin_rate: 0.1\n")
    assert main(["pretrain", "--config", str(bad), "--data", str(shards), "--output", str(tmp_path)]) == 2
    assert "learnin_rate" in capsys.readouterr().err


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_example_configs_load(path):
    config = PretrainConfig.from_dict({**load_yaml(path), "data": "d", "output": "o"})
    assert config.preset or config.model
