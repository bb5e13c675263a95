"""The Ray executor runs the local executor's units with the same semantics: same bytes, same resume, same failures.

One local Ray instance (2 CPUs) serves the whole module. Runs that must be killed happen in a subprocess driver
that joins that instance with ``--ray-address``, which also covers connecting to an existing cluster.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'refinedweb[ray]'")

from refinedweb.cli import main  # noqa: E402

pytestmark = pytest.mark.ray

SAMPLES = Path(__file__).resolve().parents[3] / "src" / "refinedweb" / "samples"
DRIVER = Path(__file__).resolve().parent.parent / "driver.py"
INPUTS = sorted(str(p) for p in SAMPLES.glob("*.warc.gz"))

@pytest.fixture(scope="module")
def local_run(tmp_path_factory, write_pipeline) -> Path:
    """The reference: the same pipeline on the local executor, one process."""
    folder = tmp_path_factory.mktemp("local")
    config = write_pipeline(folder)
    assert main(["refine", *INPUTS, "--config", config, "-o", str(folder / "out"), "--quiet", "--rejects"]) == 0
    return folder / "out"


def snapshot(folder: Path, sub: str = "documents") -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / sub).iterdir())}


def counts(folder: Path, names=("read", "extract", "langid")) -> list[tuple]:
    steps = json.loads((folder / "stats.json").read_text())["steps"]
    return [(s["name"], s["total"], s["kept"], s["dropped"]) for s in steps if s["name"] in names]


def driver(tmp_path: Path, config: str, out: Path, address: str) -> list[str]:
    return [sys.executable, str(DRIVER), "refine", *INPUTS, "--config", config, "-o", str(out), "--quiet",
            "--executor", "ray", "--ray-address", address, "--workers", "2"]


def test_ray_output_equals_local_output_and_a_rerun_resumes(tmp_path, write_pipeline, ray_address, local_run, capsys):
    assert len(INPUTS) >= 3
    config = write_pipeline(tmp_path)
    out = tmp_path / "ray"
    args = ["refine", *INPUTS, "--config", config, "-o", str(out), "--quiet", "--rejects", "--executor", "ray",
            "--workers", "2"]
    assert main(args) == 0
    assert snapshot(out) == snapshot(local_run)
    assert snapshot(out, "rejects") == snapshot(local_run, "rejects")
    assert counts(out) == counts(local_run)
    for relaunch in (args, args[: args.index("--executor")]):  # the same command, then on the local executor
        assert main(relaunch) == 0
        assert json.loads((out / "stats.json").read_text())["units"]["resumed"] == len(INPUTS)
        assert snapshot(out) == snapshot(local_run)
    assert main(args + ["--set", "steps.langid.min_score=0.9"]) == 2  # another config: refused, not mixed in
    assert "--overwrite" in capsys.readouterr().err


def test_a_failing_unit_is_reported_and_the_others_finish(tmp_path, write_pipeline, ray_address, capsys):
    broken = tmp_path / "broken.parquet"  # exists, but cannot be read: the unit cannot be done
    broken.write_bytes(b"PAR1 this is not a parquet file PAR1")
    missing = str(broken)
    out = tmp_path / "out"
    code = main(["refine", INPUTS[0], missing, INPUTS[1], "--config", write_pipeline(tmp_path), "-o", str(out),
                 "--quiet", "--executor", "ray", "--workers", "2"])
    assert code == 1
    assert f"failed: {missing}: FatalError: {missing} is not a readable Parquet file" in capsys.readouterr().err
    units = json.loads((out / "stats.json").read_text())["units"]
    assert units["completed"] == 2 and [f["input"] for f in units["failed"]] == [missing]
    assert len(list((out / "documents").iterdir())) == 2


def test_a_killed_worker_is_replaced_and_its_unit_retried(tmp_path, write_pipeline, ray_address, local_run):
    flag = tmp_path / "killed-pid"
    config = write_pipeline(tmp_path, f"  - step: test_kill_once\n    flag: {flag}\n")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run(driver(tmp_path, config, out, ray_address), check=True, env=env, timeout=300)
    assert flag.exists(), "a worker should have killed itself"
    assert int(flag.read_text()) != os.getpid()
    assert snapshot(out) == snapshot(local_run)
    assert counts(out) == counts(local_run)


def test_kill_9_of_the_driver_then_relaunch_equals_an_uninterrupted_run(tmp_path, write_pipeline,
                                                                       kill_after_first_unit, ray_address, local_run):
    config = write_pipeline(tmp_path, "  - step: test_sleep\n")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = kill_after_first_unit(driver(tmp_path, config, out, ray_address), out / ".state" / "refine", env, 120)
    assert 1 <= done < len(INPUTS), "the kill should land part-way"
    subprocess.run(driver(tmp_path, config, out, ray_address), check=True, env=env, timeout=300)
    assert snapshot(out) == snapshot(local_run)
    assert counts(out) == counts(local_run)
    assert json.loads((out / "stats.json").read_text())["units"]["resumed"] >= done


def test_connect_without_ray_names_the_extra(monkeypatch):
    from refinedweb.data.executors import ray as ray_executor
    from refinedweb.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match=r"refinedweb\[ray\]"):
        ray_executor.connect(None, 1)


def test_refinedweb_preset_with_dedup_gives_the_same_output_on_ray(tmp_path, ray_address):
    runs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        assert main(["refine", *INPUTS, "--preset", "refinedweb", "-o", str(out), "--quiet", "--executor", executor,
                     "--workers", "2"]) == 0
        runs[executor] = out
    assert snapshot(runs["ray"]) == snapshot(runs["local"])
    names = ("read", "langid", "gopher_quality", "minhash", "substring", "url")
    assert counts(runs["ray"], names) == counts(runs["local"], names)
    assert [s for s in counts(runs["ray"], names) if s[0] == "minhash"]
    # the dedup passes ran as run_units work units on Ray (their markers), not in a process pool of the driver
    assert list((runs["ray"] / ".dedup").rglob("markers/*.done"))
