"""Parallel efficiency of `refine` from 1 to N workers, on the local executor and on Ray, on the same real WARCs.

    PYTHONPATH=src python benchmarks/scaling.py [--preset fineweb] [--workers 1 2] [--copies 3] [--repeats 2]
                                                [--json scaling.json]

Input: the real pages of /work/shared/data/extraction (aeb, magic-html, mozilla, cleaneval-dev) plus the 2008
Heritrix crawl of archivesunleashed-aut, each linked ``--copies`` times under new names so that there are enough
work units of similar size for N workers (Common Crawl's own WARCs are uniform ~1 GB files; one unit per file, as
in a real run). The pipeline is extract (resiliparse) + fastText language ID, or ``--preset NAME`` (with the preset's
dedup stages, which run in the driver's own process pool whatever the executor).

For each executor and worker count the best of ``--repeats`` wall times of ``refine()`` is kept (the machine may
be shared: the best run is the least disturbed one). Efficiency(N) = (T1 / TN) / N; 1.0 is linear scaling. Ray's
cluster start is timed apart and not counted (one cluster serves many runs); its actor start-up per run is counted.
The script also checks that every run wrote the same bytes, whatever the executor and worker count.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

DATA = Path("/work/shared/data")
FILES = [
    "extraction/aeb.warc.gz",
    "extraction/magic-html.warc.gz",
    "extraction/mozilla.warc.gz",
    "extraction/cleaneval-dev.warc.gz",
    "crawl/archivesunleashed-aut/example.warc.gz",
]
CONFIG = {"name": "bench-extract-langid", "steps": [{"step": "extract"}, {"step": "langid", "min_score": 0.65}]}


def make_inputs(folder: Path, copies: int) -> list[str]:
    paths = []
    for copy in range(copies):
        for name in FILES:
            source = DATA / name
            link = folder / f"c{copy}-{source.name}"
            link.symlink_to(source)
            paths.append(str(link))
    return sorted(paths)


def digest(output: Path) -> str:
    h = hashlib.sha256()
    for path in sorted((output / "documents").iterdir()):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def autogroup() -> str | None:
    """Linux groups a session's processes for CPU shares when this is 1: then, on a busy shared machine, more worker
    processes in one session do not get more CPU."""
    path = Path("/proc/sys/kernel/sched_autogroup_enabled")
    return path.read_text().strip() if path.exists() else None


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children (the local executor's pool)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_once(executor: str, count: int, inputs: list[str], config, out: Path) -> dict:
    from refinedweb.data.refine import refine

    start, cpu_start = time.perf_counter(), cpu_seconds()
    result = refine(inputs, out, config, workers=count, executor=executor, progress=False)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    if result["failures"]:
        raise SystemExit(f"{executor} x{count}: failed units: {result['failures']}")
    print(f"  {executor:5} x{count}: {seconds:.2f}s", flush=True)
    # CPU time is only known for local runs: Ray's workers are not children of this process.
    return {"seconds": seconds, "cpu_seconds": cpu if executor == "local" else None,
            "pages": result["steps"][0]["kept"], "digest": digest(out)}  # pages: HTML responses handed to extract


def best_rows(runs: dict[tuple[str, int], list[dict]]) -> list[dict]:
    rows = []
    for (executor, count), tries in runs.items():
        best = min(tries, key=lambda t: t["seconds"])
        digests = {t["digest"] for t in tries}
        rows.append({"executor": executor, "workers": count, "seconds": best["seconds"],
                     "all_seconds": [t["seconds"] for t in tries], "cpu_seconds": best["cpu_seconds"],
                     "pages": best["pages"], "digest": digests.pop() if len(digests) == 1 else "differs"})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--preset", default=None, help="a preset instead of extract + langid")
    parser.add_argument("--executors", nargs="+", default=["local", "ray"])
    parser.add_argument("--json", default="scaling.json")
    args = parser.parse_args()

    from refinedweb.data.pipeline import PipelineConfig, load_pipeline

    config = load_pipeline(args.preset, None, []) if args.preset else PipelineConfig.from_dict(CONFIG)
    load_before = os.getloadavg()
    ray_start = None
    with tempfile.TemporaryDirectory(prefix="rw-scaling-") as tmp:
        scratch = Path(tmp)
        (scratch / "in").mkdir()
        inputs = make_inputs(scratch / "in", args.copies)
        print(f"{len(inputs)} WARC files, {sum(os.path.getsize(p) for p in inputs) / 1e6:.0f} MB; "
              f"pipeline {config.name}; {os.cpu_count()} CPUs, load average {load_before[0]:.1f}", flush=True)
        if "ray" in args.executors:  # started once and kept for every run: one cluster serves many commands
            import ray

            start = time.perf_counter()
            ray.init(address="local", num_cpus=max(args.workers), include_dashboard=False,
                     logging_level=logging.WARNING)
            ray_start = time.perf_counter() - start
            print(f"  ray.init: {ray_start:.1f}s (not counted)", flush=True)
        # Executors and worker counts take turns within each repeat, so a change of the machine's load over the
        # run affects them alike.
        runs: dict[tuple[str, int], list[dict]] = {(e, w): [] for e in args.executors for w in args.workers}
        for attempt in range(args.repeats):
            for (executor, count), tries in runs.items():
                out = scratch / f"{executor}-{count}-{attempt}"
                tries.append(run_once(executor, count, inputs, config, out))
                shutil.rmtree(out)
        rows = best_rows(runs)

    for row in rows:
        base = next(r for r in rows if r["executor"] == row["executor"] and r["workers"] == min(args.workers))
        row["speedup"] = base["seconds"] / row["seconds"]
        row["efficiency"] = row["speedup"] / (row["workers"] / base["workers"])
        row["pages_per_s"] = row["pages"] / row["seconds"]
        row["pages_per_s_per_worker"] = row["pages_per_s"] / row["workers"]
    identical = len({r["digest"] for r in rows}) == 1

    header = ("executor", "workers", "seconds", "CPU s", "pages/s", "speedup", "efficiency")
    print("\n{:8} {:>7} {:>8} {:>7} {:>10} {:>8} {:>10}".format(*header))
    for r in rows:
        cpu = f"{r['cpu_seconds']:.1f}" if r["cpu_seconds"] is not None else "-"
        print(f"{r['executor']:8} {r['workers']:>7} {r['seconds']:>8.2f} {cpu:>7} {r['pages_per_s']:>10.1f} "
              f"{r['speedup']:>8.2f} {r['efficiency']:>10.2f}")
    for count in args.workers:
        by = {r["executor"]: r for r in rows if r["workers"] == count}
        if "local" in by and "ray" in by:
            print(f"ray / local time at {count} workers: {by['ray']['seconds'] / by['local']['seconds']:.2f}")
    print(f"same output bytes in every run: {identical}")

    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg(),
                    "sched_autogroup": autogroup()},
        "inputs": FILES, "copies": args.copies, "pipeline": config.to_dict(), "ray_init_seconds": ray_start,
        "rows": rows, "identical_output": identical,
    }
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.json}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
