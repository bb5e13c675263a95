"""Shared fixtures for the refinery step tests: real web documents and a helper that runs a step on a batch."""

from __future__ import annotations

import gzip
import json
import logging
import os
import signal
import subprocess
import sys
import time
import textwrap
from pathlib import Path

import pytest

from refinedweb.document import Document

REAL_DOCS = Path(__file__).parent / "filters" / "real" / "web_docs.jsonl.gz"

# The small pipeline the refine and executor tests run: extraction and English LID on the sample WARCs.
TEST_PIPELINE = textwrap.dedent(
    """
    name: test
    steps:
      - step: extract
      - step: langid
        languages: [en]
        min_score: 0.5
    """
)


def _write_pipeline(folder: Path, extra: str = "", text: str = TEST_PIPELINE) -> str:
    path = Path(folder) / "pipeline.yaml"
    path.write_text(text + extra)
    return str(path)


def _kill_after_first_unit(command: list[str], markers: Path, env: dict, wait_s: float = 60) -> int:
    """Start ``command``, SIGKILL it once a first unit's completion marker shows in ``markers`` (or after
    ``wait_s``), and return how many units had completed."""
    process = subprocess.Popen(command, env=env)
    deadline = time.time() + wait_s
    while time.time() < deadline and len(list(markers.glob("*.done")) if markers.exists() else []) < 1:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return len(list(markers.glob("*.done")))


@pytest.fixture(scope="session")
def kill_after_first_unit():
    """``kill_after_first_unit(command, markers, env, wait_s=60) -> completed units``: kill -9 a run part-way."""
    return _kill_after_first_unit


@pytest.fixture(scope="session")
def write_pipeline():
    """``write_pipeline(folder, extra="", text=TEST_PIPELINE) -> path``: write ``folder/pipeline.yaml`` holding the
    test pipeline (or ``text``) followed by ``extra`` step lines."""
    return _write_pipeline


@pytest.fixture
def real_docs() -> list[Document]:
    """56 real extracted web documents (English, a few Chinese); see filters/real/SOURCE.md."""
    with gzip.open(REAL_DOCS, "rt", encoding="utf-8") as f:
        return [Document(r["id"], r["text"], r["url"], {"source": r["source"]}) for r in map(json.loads, f)]


def _run_step(step, docs: list[Document]) -> list[Document]:
    ids = [d.id for d in docs]
    kept = list(step(iter(docs)))
    stats = step.stats
    assert stats.total == len(docs)
    assert stats.kept == len(kept)
    assert stats.consistent(), stats.to_dict()
    assert [d.id for d in docs] == ids  # no step changes an id
    return kept


@pytest.fixture
def run_step():
    """``run_step(step, docs) -> kept``: run a step over a batch and check the bookkeeping invariants every step
    keeps (``kept + sum(dropped) == total``, ids unchanged)."""
    return _run_step


@pytest.fixture(scope="session")
def ray_address():
    """One local Ray for every `ray` test of the session; its worker processes inherit this environment, hence the
    absolute import path."""
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'refinedweb[ray]'")
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20,
             logging_level=logging.WARNING)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
