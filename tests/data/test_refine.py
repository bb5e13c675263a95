"""`refinedweb refine` end to end: stats invariants, determinism, resume after kill -9, failures, config errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from refinedweb.cli import main

def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "documents").iterdir())}


def test_refine_stats_are_consistent_and_output_deterministic(tmp_path, write_pipeline, sample_warcs):
    config = write_pipeline(tmp_path)
    assert main(["refine", *sample_warcs, "--config", config, "-o", str(tmp_path / "a"), "--quiet", "--rejects"]) == 0
    assert main(["refine", *sample_warcs, "--config", config, "-o", str(tmp_path / "b"), "--quiet", "--workers", "2"]) == 0
    stats = json.loads((tmp_path / "a" / "stats.json").read_text())
    assert [s["name"] for s in stats["steps"]] == ["read", "extract", "langid"]
    for step in stats["steps"]:
        assert step["kept"] + sum(step["dropped"].values()) == step["total"]
    assert stats["steps"][2]["dropped"]["lang_not_wanted"] > 0  # the CC excerpt is mostly Chinese
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    rejects = tmp_path / "a" / "rejects"
    import zstandard

    lines = b"".join(zstandard.ZstdDecompressor().stream_reader(open(p, "rb")).read() for p in sorted(rejects.iterdir()))
    reasons = {json.loads(line)["reason"] for line in lines.splitlines()}
    assert "lang_not_wanted" in reasons
    report = (tmp_path / "a" / "report.html").read_text()
    assert "lang_not_wanted" in report and "<pre>" in report  # a sample of a removed document
    assert (tmp_path / "a" / "run_config.yaml").exists()


def test_rerun_is_a_no_op_and_other_config_is_refused(tmp_path, write_pipeline, sample_warcs, capsys):
    config = write_pipeline(tmp_path)
    out = str(tmp_path / "out")
    assert main(["refine", *sample_warcs, "--config", config, "-o", out, "--quiet"]) == 0
    before = snapshot(Path(out))
    assert main(["refine", *sample_warcs, "--config", config, "-o", out, "--quiet"]) == 0
    assert json.loads((Path(out) / "stats.json").read_text())["units"]["resumed"] == len(sample_warcs)
    assert snapshot(Path(out)) == before
    code = main(["refine", *sample_warcs, "--config", config, "-o", out, "--set", "steps.langid.min_score=0.9"])
    assert code == 2 and "--overwrite" in capsys.readouterr().err
    assert main(["refine", *sample_warcs, "--config", config, "-o", out, "--quiet", "--overwrite",
                 "--set", "steps.langid.min_score=0.9"]) == 0


def test_unreadable_file_fails_its_unit_only(tmp_path, write_pipeline, sample_warcs, capsys):
    bad = tmp_path / "not-a-warc.warc.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage that is not gzip at all")
    config = write_pipeline(tmp_path)
    code = main(["refine", sample_warcs[0], str(bad), "--config", config, "-o", str(tmp_path / "o"), "--quiet"])
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert code in (0, 1)
    if code == 1:  # a failed unit is named, the other finished
        assert "not-a-warc" in capsys.readouterr().err and stats["units"]["completed"] == 1
    else:  # or the broken stream was a counted skip
        assert stats["steps"][0]["dropped"].get("corrupt_stream", 0) >= 1


def test_missing_input_and_directory_input(tmp_path, write_pipeline, capsys):
    config = write_pipeline(tmp_path)
    assert main(["refine", str(tmp_path / "nope-*.warc.gz"), "--config", config, "-o", str(tmp_path / "o")]) == 2
    assert "matches no file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "override, message",
    [
        ("steps.langid.min_scor=0.5", "unknown key langid.min_scor"),
        ("steps.langid.min_score=7", "out of range"),
        ("steps.nosuchstep.x=1", "no step named 'nosuchstep'"),
        ("reader.format=csv", "reader.format"),
    ],
)
def test_config_errors_exit_2_with_the_key(tmp_path, write_pipeline, sample_warcs, capsys, override, message):
    config = write_pipeline(tmp_path)
    code = main(["refine", sample_warcs[0], "--config", config, "-o", str(tmp_path / "o"), "--set", override])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_unknown_step_in_config_file(tmp_path, write_pipeline, sample_warcs, capsys):
    config = write_pipeline(tmp_path, text="steps:\n  - step: gopher_qualty\n")
    assert main(["refine", sample_warcs[0], "--config", config, "-o", str(tmp_path / "o")]) == 2
    assert "unknown step 'gopher_qualty'" in capsys.readouterr().err


DRIVER = Path(__file__).resolve().parent / "driver.py"  # refinedweb with a test-only slow step


def test_kill_9_then_relaunch_equals_uninterrupted_run(tmp_path, write_pipeline, kill_after_first_unit, sample_warcs):
    config = write_pipeline(tmp_path, "  - step: test_sleep\n")
    inputs = sample_warcs + [sample_warcs[0].replace("sample-0000", "sample-0001")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def command(out):
        return [sys.executable, str(DRIVER), "refine", *inputs, "--config", config, "-o", str(out), "--quiet"]

    subprocess.run(command(tmp_path / "full"), check=True, env=env)
    killed = tmp_path / "killed"
    done = kill_after_first_unit(command(killed), killed / ".state" / "refine", env)
    assert 1 <= done < len(set(inputs)), "the kill should land part-way"
    subprocess.run(command(killed), check=True, env=env)
    assert snapshot(killed) == snapshot(tmp_path / "full")
    stats = json.loads((killed / "stats.json").read_text())
    full = json.loads((tmp_path / "full" / "stats.json").read_text())
    assert [(s["name"], s["total"], s["kept"]) for s in stats["steps"]] == [
        (s["name"], s["total"], s["kept"]) for s in full["steps"]
    ]


def test_missing_literal_input_is_a_usage_error(tmp_path, write_pipeline, capsys):
    config = write_pipeline(tmp_path)
    assert main(["refine", str(tmp_path / "missing.jsonl"), "--config", config, "-o", str(tmp_path / "o")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
