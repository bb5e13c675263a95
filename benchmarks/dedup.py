"""Dedup benchmark: MinHash recall on planted near-duplicates, throughput against datatrove, memory as data grows.

Data: real page texts from the extraction gold sets (``/work/shared/data/extraction/*.gold.jsonl.gz``).
- Originals: pages of 100..3,000 words, made mutually dissimilar (a page is skipped when its exact word 5-gram
  Jaccard with an already chosen page is >= 0.2).
- One perturbed copy per original, with a random edit rate: words dropped and words replaced (each at half the
  rate) and 1-3 boilerplate lines added. The exact 5-gram Jaccard of every (original, copy) pair is computed with
  an independent normaliser (``re.findall(r"\\w+")`` on lower-cased text), not with our hashing.
- Originals are in ``a-originals.jsonl`` and copies in ``b-copies.jsonl``, so the kept member of a found pair is the
  original. Recall per Jaccard band = copies removed with their own original as kept twin / copies in the band.
  False removals = originals removed, or copies removed as duplicates of another page's family.

Throughput: the same two files through our MinHash stage (``fineweb`` 14 x 8 and ``refinedweb`` 450 x 20) and
through datatrove's four MinHash stages (signature, buckets, cluster, filter; 5-grams, 14 x 8, 64-bit hashes,
its default English word tokenizer), each in one process on one core, wall clock from reading to writing.

Memory: the corpus copied 1x, 4x, 16x (copies get new ids), our MinHash stage with small shard sizes
(``records_per_shard``, ``edges_per_partition``) so that the bounded passes show; peak traced allocation
(tracemalloc: Python objects and numpy buffers) of each pass, the maximum over its pieces.

Run: ``PYTHONPATH=src python benchmarks/dedup.py --out benchmarks/dedup.json`` (``--limit`` to use fewer pages).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

DATA = Path("/work/shared/data/extraction")
BOILERPLATE = [
    "Share this article on Facebook, Twitter and LinkedIn.",
    "Subscribe to our newsletter to get the latest updates delivered to your inbox.",
    "We use cookies to improve your experience. By continuing you accept our cookie policy.",
    "All rights reserved. Reproduction without permission is prohibited.",
    "Click here to read more stories like this one.",
    "Advertisement",
]
BANDS = [(0.8, 1.01, ">= 0.8"), (0.7, 0.8, "0.7-0.8"), (0.5, 0.7, "0.5-0.7"), (0.0, 0.5, "< 0.5")]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def grams(text: str, n: int = 5) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(max(1, len(w) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def load_originals(limit: int | None) -> list[str]:
    texts = []
    for path in sorted(DATA.glob("*.gold.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle)
    chosen: list[str] = []
    index: dict[tuple, list[int]] = defaultdict(list)
    sets: list[set] = []
    for text in texts:
        if not 100 <= len(words(text)) <= 3000:
            continue
        g = grams(text)
        shared: dict[int, int] = defaultdict(int)
        for gram in g:
            for other in index.get(gram, ()):
                shared[other] += 1
        if any(common / (len(g) + len(sets[o]) - common) >= 0.2 for o, common in shared.items()):
            continue
        for gram in g:
            index[gram].append(len(chosen))
        sets.append(g)
        chosen.append(text)
        if limit and len(chosen) >= limit:
            break
    return chosen


def perturb(text: str, rate: float, rng: random.Random, vocabulary: list[str]) -> str:
    out = []
    for word in text.split(" "):
        r = rng.random()
        if r < rate / 2:
            continue  # dropped
        out.append(rng.choice(vocabulary) if r < rate else word)  # replaced
    lines = " ".join(out).split("\n")
    for _ in range(rng.randint(1, 3)):
        lines.insert(rng.randint(0, len(lines)), rng.choice(BOILERPLATE))
    return "\n".join(lines)


def build_set(root: Path, limit: int | None, seed: int = 0) -> dict:
    rng = random.Random(seed)
    originals = load_originals(limit)
    vocabulary = sorted({w for t in originals[:200] for w in t.split()})
    pairs = []
    with open(root / "a-originals.jsonl", "w") as a, open(root / "b-copies.jsonl", "w") as b:
        for i, text in enumerate(originals):
            rate = rng.uniform(0.0, 0.07)
            copy = perturb(text, rate, rng, vocabulary)
            a.write(json.dumps({"id": f"o{i}", "text": text}) + "\n")
            b.write(json.dumps({"id": f"c{i}", "text": copy}) + "\n")
            pairs.append({"original": f"o{i}", "copy": f"c{i}", "rate": round(rate, 4),
                          "jaccard": round(jaccard(grams(text), grams(copy)), 4)})
    return {"originals": len(originals), "pairs": pairs}


def score(pairs: list[dict], removed: dict[str, str | None], bands: int, rows: int) -> dict:
    """``removed``: id -> id of the kept twin (None when unknown). Recall per band, the recall that LSH theory
    expects for the same pairs (mean of 1 - (1 - J**rows)**bands), and false removals."""
    out = {}
    for low, high, label in BANDS:
        band = [p for p in pairs if low <= p["jaccard"] < high]
        found = [p for p in band if p["copy"] in removed and removed[p["copy"]] in (None, p["original"])]
        expected = sum(1 - (1 - p["jaccard"] ** rows) ** bands for p in band) / len(band) if band else None
        out[label] = {"pairs": len(band), "found": len(found),
                      "recall": round(len(found) / len(band), 4) if band else None,
                      "expected": round(expected, 4) if band else None}
    originals = {p["original"] for p in pairs}
    false = [i for i in removed if i in originals]
    family = {p["copy"]: p["original"] for p in pairs}
    false += [i for i, kept in removed.items() if i in family and kept not in (None, family[i])]
    out["false_removals"] = len(false)
    return out


def run_ours(inputs: list[str], out: Path, preset: str, extra: dict | None = None) -> tuple[float, dict]:
    from refinedweb.data.dedup import run_dedup

    spec = {"step": "minhash", "preset": preset, **(extra or {})}
    start = time.perf_counter()
    run_dedup([spec], inputs, out, workers=1, rejects=True)
    seconds = time.perf_counter() - start
    removed = {}
    import io

    import zstandard

    for path in (out / "rejects" / "minhash").glob("*.jsonl.zst"):
        with open(path, "rb") as raw:
            for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8"):
                record = json.loads(line)
                removed[record["id"]] = record["kept_id"]
    return seconds, removed


def run_datatrove(folder: Path, work: Path) -> tuple[float, dict]:
    from loguru import logger

    logger.remove()
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter, MinhashDedupSignature)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    config = MinhashConfig(hash_config=HashConfig(precision=64), num_buckets=14, hashes_per_bucket=8, n_grams=5)
    stages = [
        ([JsonlReader(str(folder)), MinhashDedupSignature(output_folder=str(work / "sig"), config=config)], 1),
        ([MinhashDedupBuckets(input_folder=str(work / "sig"), output_folder=str(work / "buckets"), config=config)],
         config.num_buckets),
        ([MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove"),
                              config=config)], 1),
        ([JsonlReader(str(folder)), MinhashDedupFilter(input_folder=str(work / "remove")),
          JsonlWriter(str(work / "out"))], 1),
    ]
    start = time.perf_counter()
    for number, (pipeline, tasks) in enumerate(stages):
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(work / f"log{number}"),
                              skip_completed=False).run()
    seconds = time.perf_counter() - start
    kept = set()
    for path in (work / "out").glob("*.jsonl.gz"):
        with gzip.open(path, "rt") as handle:
            kept.update(json.loads(line)["id"] for line in handle)
    everything = set()
    for path in folder.glob("*.jsonl"):
        everything.update(json.loads(line)["id"] for line in open(path))
    return seconds, {i: None for i in everything - kept}


def memory_scaling(base: list[Path], root: Path, factors: list[int]) -> list[dict]:
    """Peak traced memory per pass of our MinHash stage on the corpus copied ``factor`` times."""
    from refinedweb.data.dedup import run_dedup
    from refinedweb.data.dedup import tasks as tasks_module

    records = [json.loads(line) for path in base for line in open(path)]
    rows = []
    original_run = tasks_module.Pieces.run
    for factor in factors:
        folder = root / f"x{factor}"
        folder.mkdir(parents=True)
        per_file = len(records)
        for copy in range(factor):
            with open(folder / f"part{copy:03d}.jsonl", "w") as handle:
                for record in records:
                    handle.write(json.dumps(dict(record, id=f"{record['id']}-{copy}")) + "\n")
        peaks: dict[str, int] = defaultdict(int)

        def measured(self, fn, items, marker_dir, names, _peaks=peaks):
            def wrapped(item):
                tracemalloc.reset_peak()
                result = fn(item)
                kind = _pass_name(marker_dir)
                _peaks[kind] = max(_peaks[kind], tracemalloc.get_traced_memory()[1])
                return result

            return original_run(self, wrapped, items, marker_dir, names)

        tasks_module.Pieces.run = measured
        tracemalloc.start()
        start = time.perf_counter()
        try:
            stats = run_dedup([{"step": "minhash", "preset": "fineweb", "records_per_shard": 20_000,
                                "edges_per_partition": 20_000}], [str(p) for p in sorted(folder.glob("*.jsonl"))],
                              root / f"out{factor}", workers=1)
        finally:
            tracemalloc.stop()
            tasks_module.Pieces.run = original_run
        rows.append({"factor": factor, "documents": per_file * factor,
                     "seconds_with_tracing": round(time.perf_counter() - start, 2),
                     "removed": stats[0]["dropped"].get("minhash_duplicate", 0),
                     "counters": stats[0]["counters"],
                     "peak_mib": {k: round(v / 2**20, 2) for k, v in sorted(peaks.items())}})
        print(f"memory x{factor}: {rows[-1]['peak_mib']}", flush=True)
    return rows


def substring_memory(inputs: list[str], root: Path, shard_tokens: int) -> dict:
    """Substring stage over the planted set (two files, so two shards at this ``shard_tokens``): seconds, tokens
    removed within and across shards, peak traced memory per token of the suffix-array and cross-shard pieces."""
    from refinedweb.data.dedup import run_dedup
    from refinedweb.data.dedup import substring

    peaks: dict[str, int] = {}
    originals = {cls: cls.__call__ for cls in (substring._SuffixPass, substring._CrossShardPass)}

    def measure(cls):
        def wrapped(self, shard):
            tracemalloc.reset_peak()
            result = originals[cls](self, shard)
            peaks[cls.__name__] = max(peaks.get(cls.__name__, 0), tracemalloc.get_traced_memory()[1])
            return result

        return wrapped

    for cls in originals:
        cls.__call__ = measure(cls)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        stats = run_dedup([{"step": "substring", "shard_tokens": shard_tokens}], inputs, root, workers=1)
    finally:
        tracemalloc.stop()
        for cls, call in originals.items():
            cls.__call__ = call
    counters = stats[0]["counters"]
    per_shard = counters["tokens"] / counters["shards"]
    return {"seconds_with_tracing": round(time.perf_counter() - start, 2), "dropped": stats[0]["dropped"],
            **counters, "peak_bytes_per_token": {k: round(v / per_shard, 1) for k, v in peaks.items()}}


def _pass_name(marker_dir: Path) -> str:
    parts = marker_dir.parts
    if "components" in parts:
        return "3-cluster (connected components)"
    return {"keys": "1-signatures", "edges": "2-buckets", "documents": "4-removal"}.get(parts[-2], parts[-2])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None, help="at most this many original pages")
    parser.add_argument("--out", default="benchmarks/dedup.json")
    parser.add_argument("--skip-datatrove", action="store_true")
    parser.add_argument("--memory-factors", default="1,4,16")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dedup-bench-"))
    try:
        data = root / "data"
        data.mkdir()
        planted = build_set(data, args.limit)
        docs = 2 * planted["originals"]
        print(f"planted set: {planted['originals']} originals + {planted['originals']} copies", flush=True)
        inputs = [str(data / "a-originals.jsonl"), str(data / "b-copies.jsonl")]
        results: dict = {"documents": docs, "originals": planted["originals"], "runs": {}}
        for preset, shape in (("fineweb", (14, 8)), ("refinedweb", (450, 20))):
            seconds, removed = run_ours(inputs, root / f"ours-{preset}", preset)
            results["runs"][f"ours {preset}"] = {"seconds": round(seconds, 3), "docs_per_s": round(docs / seconds, 1),
                                                 **score(planted["pairs"], removed, *shape)}
            print(preset, results["runs"][f"ours {preset}"], flush=True)
        if not args.skip_datatrove:
            seconds, removed = run_datatrove(data, root / "datatrove")
            results["runs"]["datatrove 14x8"] = {"seconds": round(seconds, 3), "docs_per_s": round(docs / seconds, 1),
                                                 **score(planted["pairs"], removed, 14, 8)}
            print("datatrove", results["runs"]["datatrove 14x8"], flush=True)
            base = results["runs"]["datatrove 14x8"]["docs_per_s"]
            for name, run in results["runs"].items():
                run["speed_vs_datatrove"] = round(run["docs_per_s"] / base, 2)
        results["substring"] = substring_memory(inputs, root / "substring", 400_000)
        print("substring", results["substring"], flush=True)
        factors = [int(f) for f in args.memory_factors.split(",") if f]
        results["memory"] = memory_scaling([Path(p) for p in inputs], root / "memory", factors)
        results["pairs_by_band"] = {label: sum(low <= p["jaccard"] < high for p in planted["pairs"])
                                    for low, high, label in BANDS}
        print_table(results)
        Path(args.out).write_text(json.dumps(results, indent=1))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def print_table(results: dict) -> None:
    print(f"\n{results['documents']} documents ({results['originals']} originals + one copy each)")
    print("recall per 5-gram Jaccard band: measured (expected by the LSH S-curve)")
    header = f"{'run':<18}{'docs/s':>9}{'x datatrove':>12}" + "".join(f"{label:>16}" for *_, label in BANDS)
    print(header + f"{'false':>7}")
    for name, run in results["runs"].items():
        recalls = "".join(f"{_cell(run[label]):>16}" for *_, label in BANDS)
        print(f"{name:<18}{run['docs_per_s']:>9}{run.get('speed_vs_datatrove', '-'):>12}{recalls}"
              f"{run['false_removals']:>7}")
    for row in results.get("memory", []):
        print(f"x{row['factor']:<3} {row['documents']:>7} docs  peak MiB per pass: {row['peak_mib']}")


def _cell(band: dict) -> str:
    return "-" if band["recall"] is None else f"{band['recall']:.3f} ({band['expected']:.3f})"


if __name__ == "__main__":
    sys.exit(main())
