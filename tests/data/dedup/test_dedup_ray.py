"""Dedup on the Ray executor gives the local executor's output byte for byte, with the same per-stage stats.

One local Ray instance (2 CPUs) serves the module. The corpus is real pages with planted exact copies, near copies,
shared passages and same-URL pages over three files, so every stage (and MinHash's clustering) has work to do.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'refinedweb[ray]'")

from refinedweb.cli import main  # noqa: E402

pytestmark = pytest.mark.ray

METHODS = ["--method", "exact", "--method", "minhash", "--method", "substring", "--method", "url"]


def perturbed(text: str, every: int) -> str:
    words = text.split()
    return " ".join("CHANGED" if i % every == 0 else w for i, w in enumerate(words))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, pages, helpers) -> list[str]:
    folder = tmp_path_factory.mktemp("corpus")
    a = [dict(p, id=f"a{i}") for i, p in enumerate(pages[:15])]
    b = [dict(p, id=f"b{i}") for i, p in enumerate(pages[15:30])]
    c = ([dict(pages[i], id=f"exact{i}") for i in (0, 16)]
         + [{"id": f"near{i}", "url": "", "text": perturbed(pages[i]["text"], 60)} for i in (1, 2, 17)]
         + [{"id": f"quote{i}", "url": "", "text": "Intro words here. " + pages[i]["text"][:1500]} for i in (3, 18)]
         + [dict(pages[i], id=f"url{i}", text=f"A different page {i} at the same address.") for i in (4, 19)]
         + [dict(p, id=f"c{i}") for i, p in enumerate(pages[30:])])
    return [helpers.write_jsonl(folder / f"{n}.jsonl", rows) for n, rows in (("a", a), ("b", b), ("c", c))]


def dedup(corpus: list[str], out: Path, *extra: str) -> list[dict]:
    assert main(["dedup", *corpus, "--output", str(out), "--preset", "refinedweb", *METHODS, "--workers", "2",
                 "--rejects", *extra]) == 0
    steps = json.loads((out / "stats.json").read_text())["steps"]
    return [{k: v for k, v in step.items() if k != "seconds"} for step in steps]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.jsonl.zst"))}


def test_dedup_on_ray_equals_local_byte_for_byte(tmp_path, ray_address, corpus):
    local = dedup(corpus, tmp_path / "local")
    on_ray = dedup(corpus, tmp_path / "ray", "--executor", "ray")
    assert on_ray == local
    assert [s["name"] for s in local] == ["exact", "minhash", "substring", "url"]
    assert all(sum(s["dropped"].values()) > 0 for s in local), local  # every stage removed something
    documents = tree(tmp_path / "local" / "documents")
    assert documents and tree(tmp_path / "ray" / "documents") == documents
    assert tree(tmp_path / "ray" / "rejects") == tree(tmp_path / "local" / "rejects")
    # The pieces ran as run_units work units (their markers are in the stage folders), not in a local pool.
    assert list((tmp_path / "ray" / ".dedup").rglob("markers/*.done"))
    assert not list((tmp_path / "local" / ".dedup").rglob("markers/*.done"))


def test_a_driver_joins_the_cluster_with_ray_address(tmp_path, ray_address, corpus):
    """A separate driver process joins the module's Ray instance with --ray-address and runs the passes there."""
    out = tmp_path / "out"
    args = [sys.executable, "-m", "refinedweb", "dedup", *corpus, "--output", str(out), "--method", "exact",
            "--method", "url", "--executor", "ray", "--ray-address", ray_address, "--workers", "2"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert list((out / ".dedup").rglob("markers/*.done"))
    assert "exact" in done.stdout and "url" in done.stdout


def test_a_run_stopped_on_one_executor_resumes_on_the_other(tmp_path, ray_address, corpus):
    """Stop a local run after its first stage and in the middle of MinHash (some pieces done), then finish it on
    Ray, and the other way round: both give the uninterrupted output."""
    reference = dedup(corpus, tmp_path / "reference")
    for first, then in (("local", "ray"), ("ray", "local")):
        out = tmp_path / f"{first}-then-{then}"
        dedup(corpus, out, "--executor", first)
        state = out / ".dedup"
        (state / "done.json").unlink()
        shutil.rmtree(out / "documents")
        for stage in sorted(state.glob("0[2-9]-*")):
            shutil.rmtree(stage)
        minhash = state / "01-minhash"
        (minhash / "stats.json").unlink()
        shutil.rmtree(minhash / "documents")
        shutil.rmtree(minhash / "components" / "roots")
        assert dedup(corpus, out, "--executor", then) == reference
        assert tree(out / "documents") == tree(tmp_path / "reference" / "documents")
