"""Properties of the whole dedup run: never adds, idempotent, independent of input order and worker count."""

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refinedweb.data.dedup import run_dedup

SPECS = [{"step": "exact"}, {"step": "url"}, {"step": "minhash", "preset": "fineweb"},
         {"step": "substring", "min_tokens": 8}]

# Texts built from a small vocabulary and a few shared sentences, so exact copies, near copies and repeated
# spans all occur often.
SENTENCES = [
    "the quick brown fox jumps over the lazy dog near the river bank today",
    "a stitch in time saves nine and the early bird catches the worm every morning",
    "all that glitters is not gold and not all those who wander are lost at all",
]
words = st.sampled_from(["alpha", "beta", "gamma", "delta", "river", "stone", "tree", "cloud"])
texts = st.one_of(
    st.sampled_from(SENTENCES),
    st.lists(words, min_size=1, max_size=30).map(" ".join),
    st.tuples(st.sampled_from(SENTENCES), st.lists(words, max_size=5).map(" ".join)).map(" ".join),
)
docs = st.lists(st.tuples(texts, st.sampled_from(["", "http://a.com/x", "https://www.a.com/x/", "http://b.org"])),
                min_size=1, max_size=24)


SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


def run(helpers, tmp: Path, files: list[list[tuple[str, str]]], workers: int = 1, order=None) -> Path:
    paths = []
    for f, rows in enumerate(files):
        records = [{"id": f"{f}-{i}", "url": url, "text": text} for i, (text, url) in enumerate(rows)]
        paths.append(helpers.write_jsonl(tmp / "in" / f"part{f}.jsonl", records))
    if order is not None:
        paths = [paths[i] for i in order]
    out = tmp / f"out-{workers}-{order}"
    run_dedup(SPECS, paths, out, workers=workers)
    return out


def split(items, parts):
    return [items[i::parts] for i in range(parts)]


@settings(max_examples=5, deadline=None, suppress_health_check=SLOW_OK)
@given(docs, st.integers(1, 3))
def test_never_adds_and_is_idempotent(helpers, rows, parts):
    tmp = Path(tempfile.mkdtemp())
    try:
        out = run(helpers, tmp, split(rows, parts))
        first = helpers.read_output(out)
        kept = sum(len(v) for v in first.values())
        assert kept <= len(rows) and kept >= 1
        ids = {r["id"] for v in first.values() for r in v}
        assert ids <= {f"{f}-{i}" for f in range(parts) for i in range(len(rows))}
        again = tmp / "again"
        run_dedup(SPECS, sorted(str(p) for p in (out / "documents").glob("*.jsonl.zst")), again)
        assert helpers.read_output(again) == first
    finally:
        shutil.rmtree(tmp)


@settings(max_examples=3, deadline=None, suppress_health_check=SLOW_OK)
@given(docs, st.permutations([0, 1, 2]))
def test_output_is_independent_of_input_order_and_workers(helpers, rows, order):
    tmp = Path(tempfile.mkdtemp())
    try:
        files = split(rows, 3)
        reference = helpers.output_bytes(run(helpers, tmp, files, workers=1))
        assert helpers.output_bytes(run(helpers, tmp, files, workers=1, order=order)) == reference
        assert helpers.output_bytes(run(helpers, tmp, files, workers=2, order=order)) == reference
    finally:
        shutil.rmtree(tmp)
