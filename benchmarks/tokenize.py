"""Tokenization throughput: ``refinedweb tokenize`` vs raw Hugging Face ``tokenizers`` on the same real texts.

Corpus: real text in several scripts from /work/shared/data (WikiText-2 test articles, Project Gutenberg books cut
into ~5,000-character parts, HPLT Chinese web documents, HPLT multilingual Common Crawl texts), written as
``--files`` JSONL files of ``{id, url, text, metadata}`` records (the layout ``refinedweb refine`` writes).

Tokenizer: a byte-level BPE tokenizer trained by ``refinedweb`` on the corpus itself (``--vocab-size``), or
``--tokenizer DIR``.

One core (the process pinned to CPU 0, ``RAYON_NUM_THREADS=1``):

- anchor ``encode_batch``: ``tokenizer.encode_batch(texts[i:i+256], add_special_tokens=False)`` over all texts,
  texts already in memory (no reading, no writing);
- anchor ``encode_batch + ids``: the same plus ``[e.ids for e in encodings]``, the least one must do to use them;
- ours: ``tokenize_corpus`` with 1 worker on the corpus as one JSONL file: read it, split train/val (1 %),
  encode, write shards (each file fsynced), stats.json. Each work unit has a fixed cost of a few fsyncs, which is
  noise on real input files (hundreds of MB) but not on a benchmark-sized one, hence one file here.

Times are CPU seconds of the process (and wall seconds, shown too): the machine this was written on is shared with
other jobs, and CPU time is what one core gives. The three are interleaved repeat by repeat and the best of
``--repeats`` is kept.

Scaling: ours on the corpus split into ``--files`` files, 1 and 2 worker processes, unpinned, wall time (the best
of ``--repeats``). Throughput is MB of UTF-8 text per second. Usage::

    python benchmarks/tokenize.py [--max-mb 8] [--files 8] [--vocab-size 32768] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's ``tokenize`` module, which ``inspect`` and ``linecache`` import:
# take this folder off the import path so they get the real one.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers is imported: its Rust thread pool reads this once
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import base64  # noqa: E402
import gzip  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")


def _zst_lines(path: Path) -> list[str]:
    import zstandard

    with zstandard.ZstdDecompressor().stream_reader(open(path, "rb")) as raw:
        return io.TextIOWrapper(raw, encoding="utf-8", errors="replace").read().splitlines()


def _parts(text: str, size: int = 5000) -> list[str]:
    """Cut a long text at blank lines into parts of about ``size`` characters."""
    parts, current = [], []
    length = 0
    for block in text.split("\n\n"):
        current.append(block)
        length += len(block) + 2
        if length >= size:
            parts.append("\n\n".join(current))
            current, length = [], 0
    if current:
        parts.append("\n\n".join(current))
    return [p for p in parts if p.strip()]


def load_corpus(max_bytes: int) -> list[dict]:
    """Real documents from four sources, interleaved so every file gets every script."""
    sources: dict[str, list[str]] = {}
    wiki = gzip.open(SHARED / "clean-text/wikitext-2-raw-test/wiki.test.raw.gz", "rt", encoding="utf-8").read()
    wiki = wiki.replace("\r\n", "\n")
    articles, current = [], []
    for line in wiki.split("\n"):
        if line.startswith(" = ") and not line.startswith(" = = ") and current:
            articles.append("\n".join(current))
            current = []
        current.append(line)
    sources["wikitext"] = articles + ["\n".join(current)]
    books = []
    for path in sorted((SHARED / "clean-text/gutenberg").glob("pg*.txt*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            books += _parts(handle.read().replace("\r\n", "\n"))
    sources["gutenberg"] = books
    zh = []
    for line in _zst_lines(SHARED / "crawl/hplt/release1.2_warc2textout_wide15_sample_zh.tsv.zst"):
        url, _, b64 = line.partition("\t")
        zh.append(base64.b64decode(b64).decode("utf-8", errors="replace"))
    sources["hplt-zh"] = zh
    multi = []
    for name in ("sample100_CC.zst", "sample100_wide.zst"):
        multi += [json.loads(line).get("t") or "" for line in _zst_lines(SHARED / "crawl/hplt" / name)]
    sources["hplt-multilingual"] = [t for t in multi if t]
    docs, used, i = [], 0, 0
    iters = {name: iter(texts) for name, texts in sources.items()}
    while iters and used < max_bytes:
        for name in list(iters):
            text = next(iters[name], None)
            if text is None:
                del iters[name]
                continue
            docs.append({"id": f"{name}-{i}", "url": "", "text": text, "metadata": {"source": name}})
            used += len(text.encode("utf-8"))
            i += 1
    return docs


def write_files(docs: list[dict], folder: Path, files: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"part-{k:03d}.jsonl" for k in range(files)]
    handles = [open(p, "w", encoding="utf-8") for p in paths]
    for i, doc in enumerate(docs):
        handles[i % files].write(json.dumps(doc, ensure_ascii=False) + "\n")
    for handle in handles:
        handle.close()
    return [str(p) for p in paths]


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-mb", type=float, default=8.0, help="corpus size in MB of UTF-8 text")
    parser.add_argument("--files", type=int, default=8, help="JSONL files (work units) for the scaling runs")
    parser.add_argument("--vocab-size", type=int, default=32768)
    parser.add_argument("--tokenizer", default=None, help="use this tokenizer instead of training one")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()

    from refinedweb.data.tokenize.files import load_tokenizer, save_tokenizer
    from refinedweb.data.tokenize.run import tokenize_corpus
    from refinedweb.data.tokenize.task import TokenizeConfig
    from refinedweb.data.tokenize.train import TrainConfig, train_tokenizer

    work = Path(tempfile.mkdtemp(prefix="bench-tokenize-"))
    try:
        docs = load_corpus(int(args.max_mb * 1e6))
        texts = [d["text"] for d in docs]
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        one_file = write_files(docs, work / "one", 1)
        inputs = write_files(docs, work / "in", args.files)
        tokenizer_dir = args.tokenizer
        if tokenizer_dir is None:
            config = TrainConfig(vocab_size=args.vocab_size)
            tokenizer = train_tokenizer(iter(texts), config)
            tokenizer_dir = str(work / "tokenizer")
            save_tokenizer(tokenizer.to_str(pretty=True), config.special.as_roles(), tokenizer_dir)
        tok = load_tokenizer(tokenizer_dir).tokenizer
        print(f"corpus: {len(docs)} documents, {mb:.2f} MB in {args.files} files; "
              f"vocabulary {tok.get_vocab_size()} tokens")

        all_cores = os.sched_getaffinity(0)
        fresh = lambda: load_tokenizer(tokenizer_dir).tokenizer  # noqa: E731  (a cold BPE cache, as in a worker)
        batches = [texts[i : i + 256] for i in range(0, len(texts), 256)]
        tokens = sum(len(e.ids) for b in batches for e in fresh().encode_batch(b, add_special_tokens=False))
        run = {"n": 0}

        def ours(workers: int, files: list[str]) -> None:
            run["n"] += 1
            out = work / f"out-{run['n']}"
            summary = tokenize_corpus(files, out, TokenizeConfig(tokenizer=tokenizer_dir, val_fraction=0.01),
                                      workers=workers, progress=False)
            assert summary["total_documents"] == len(docs) and not summary["units"]["failed"]
            assert summary["total_tokens"] == tokens + len(docs)  # + one EOS per document
            shutil.rmtree(out)

        def anchor(with_ids: bool) -> None:
            tok = fresh()
            for batch in batches:
                encodings = tok.encode_batch(batch, add_special_tokens=False)
                if with_ids:
                    [e.ids for e in encodings]

        # The three one-core measurements are interleaved, repeat by repeat, so that load from other jobs on the
        # machine falls on all of them alike; the best of the repeats is kept.
        os.sched_setaffinity(0, {min(all_cores)})
        one_core: dict[str, list[tuple[float, float]]] = {"anchor": [], "anchor_ids": [], "ours": []}
        for _ in range(args.repeats):
            one_core["anchor"].append(timed(lambda: anchor(False)))
            one_core["anchor_ids"].append(timed(lambda: anchor(True)))
            one_core["ours"].append(timed(lambda: ours(1, one_file)))
        os.sched_setaffinity(0, all_cores)
        scaling: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.repeats):
            for workers in (1, 2):
                scaling[workers].append(timed(lambda: ours(workers, inputs))[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in one_core.items()}
    rows = [
        ("tokenizers encode_batch (1 core, texts in memory)", *best["anchor"]),
        ("tokenizers encode_batch + .ids (1 core)", *best["anchor_ids"]),
        ("refinedweb tokenize, 1 worker (1 core, read+encode+write)", *best["ours"]),
        (f"refinedweb tokenize, {args.files} files, 1 worker (unpinned)", min(scaling[1]), None),
        (f"refinedweb tokenize, {args.files} files, 2 workers (unpinned)", min(scaling[2]), None),
    ]
    print(f"\n{'what':60} {'wall s':>7} {'cpu s':>7} {'MB/s':>6} {'Mtok/s':>7}")
    for name, wall, cpu in rows:
        seconds = cpu if cpu is not None else wall
        cpu_text = f"{cpu:7.2f}" if cpu is not None else f"{'-':>7}"
        print(f"{name:60} {wall:7.2f} {cpu_text} {mb / seconds:6.2f} {tokens / seconds / 1e6:7.3f}")
    print("(MB/s and Mtok/s: per CPU second where a CPU time is given, else per wall second)")
    ratios = {
        "ours_vs_encode_batch_1core_cpu": best["anchor"][1] / best["ours"][1],
        "ours_vs_encode_batch_ids_1core_cpu": best["anchor_ids"][1] / best["ours"][1],
        "ours_vs_encode_batch_1core_wall": best["anchor"][0] / best["ours"][0],
        "scaling_2_vs_1_workers_wall": min(scaling[1]) / min(scaling[2]),
    }
    for key, value in ratios.items():
        print(f"{key}: {value:.2f}x")
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {len(all_cores)} cores visible, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "corpus": {"documents": len(docs), "megabytes": round(mb, 3), "files": args.files, "tokens": tokens},
        "vocab_size": tok.get_vocab_size(),
        "seconds_wall_cpu": {name: [round(wall, 4), cpu and round(cpu, 4)] for name, wall, cpu in rows},
        "runs": {**{k: v for k, v in one_core.items()}, **{f"scaling_{w}": v for w, v in scaling.items()}},
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
