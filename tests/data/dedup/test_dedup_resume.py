"""kill -9 at a stage boundary or in the middle of a stage, relaunch: the output is byte-identical."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import refinedweb
from refinedweb.data.dedup import run_dedup

SPECS = [{"step": "exact"}, {"step": "minhash", "preset": "fineweb"}, {"step": "substring"}, {"step": "url"}]
SRC = str(Path(refinedweb.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, pages, helpers):
    root = tmp_path_factory.mktemp("corpus")
    paths = []
    for f in range(6):
        records = []
        for i in range(24):
            page = pages[(f * 7 + i) % len(pages)]  # every page appears several times across files
            text = page["text"] if i % 3 else page["text"] + f" (copy {f}-{i})"
            records.append({"id": f"{f}-{i}", "url": page["url"], "text": text})
        paths.append(helpers.write_jsonl(root / f"part{f}.jsonl", records))
    reference = root / "reference"
    run_dedup(SPECS, paths, reference, workers=1, rejects=True)
    return paths, helpers.output_bytes(reference)


@pytest.mark.parametrize("marker", [
    ".dedup/00-exact/stats.json",  # at a stage boundary
    ".dedup/01-minhash/keys/markers/part2.done.json",  # in the middle of a per-unit pass
    ".dedup/01-minhash/components/r0001/markers/p0.done.json",  # in the middle of clustering
    ".dedup/02-substring/documents/markers/part0.done.json",  # while documents are being rewritten
])
def test_sigkill_then_relaunch_gives_identical_output(tmp_path, corpus, helpers, marker):
    paths, reference = corpus
    out = tmp_path / "out"
    script = (
        "import sys; from pathlib import Path; from refinedweb.data.dedup import run_dedup; "
        f"run_dedup({SPECS!r}, {paths!r}, Path({str(out)!r}), workers=1, rejects=True)"
    )
    env = dict(os.environ, PYTHONPATH=SRC)
    process = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 120
    while not (out / marker).exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (out / ".dedup" / "done.json").exists()
    run_dedup(SPECS, paths, out, workers=2, rejects=True)
    assert helpers.output_bytes(out) == reference
