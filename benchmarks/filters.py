"""Our filters vs datatrove's equivalents on the same real texts, in one run: docs/s and keep/drop agreement.

    python benchmarks/filters.py [--limit N] [--json benchmarks/filters.json]

Needs ``pip install "datatrove[processing]" spacy`` (the ``bench`` extra). Inputs: the gold main texts of the
extraction sets in ``/work/shared/data/extraction/*.gold.jsonl.gz`` (real pages, with URLs), or ``--inputs``.

Fairness notes, printed with the results:
- Both sides run single-threaded in this process on the same texts; each filter gets fresh copies of the documents.
  Our side runs through the step's full ``process`` loop (counting, timing, metadata); datatrove's side calls
  ``filter(doc)`` directly, without its pipeline bookkeeping.
- datatrove's English word tokenizer is ``spacy.blank("en")`` (no model download), so its word splitting is the real
  one. Nothing is monkeypatched except what would download at run time: C4BadWordsFilter's bad-word file is pointed
  at our packaged copy of the same LDNOOBW list, and tldextract uses its bundled suffix snapshot (no fetch).
- datatrove's URLFilter uses its own (much larger) bundled lists, ours the small seed lists; their agreement
  measures list coverage, not code.
"""

from __future__ import annotations

import argparse
import copy
import glob
import gzip
import json
import platform
import sys
import time
from pathlib import Path

from refinedweb.data.filters.c4 import C4BadWordsFilter, C4QualityFilter
from refinedweb.data.filters.fineweb import FineWebQualityFilter
from refinedweb.data.filters.gopher import GopherQualityFilter, GopherRepetitionFilter
from refinedweb.data.filters.url import URLFilter
from refinedweb.data.pii import PIIFormatter
from refinedweb.data.text import split_words
from refinedweb.document import Document

DEFAULT_INPUTS = "/work/shared/data/extraction/*.gold.jsonl.gz"
# Real Common Crawl / Internet Archive records with their URLs (some adult sites among them): the gold sets' URLs
# are all benign, so the URL filter is also compared on these.
URL_INPUTS = "/work/shared/data/crawl/hplt/sample100_*.zst"


def load_texts(pattern: str, limit: int | None) -> list[dict]:
    rows = []
    for path in sorted(glob.glob(pattern)):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows.extend({"id": f"{Path(path).name}:{i}", "url": r.get("url", ""), "text": r["text"]}
                        for i, r in enumerate(map(json.loads, f)) if r.get("text", "").strip())
    if limit and limit < len(rows):
        rows = [rows[i * len(rows) // limit] for i in range(limit)]  # spread over all sets, deterministically
    return rows


def load_url_rows(pattern: str) -> list[dict]:
    import zstandard

    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path, "rb") as f:
            lines = zstandard.ZstdDecompressor().stream_reader(f).read().decode("utf-8", "replace").splitlines()
        rows.extend({"id": f"{Path(path).name}:{i}", "url": json.loads(line)["u"], "text": "x"}
                    for i, line in enumerate(lines) if line.strip())
    return rows


def datatrove_filters():
    """datatrove's equivalents, configured as FineWeb uses them, with run-time downloads redirected."""
    import tldextract
    from datatrove.pipeline.filters import c4_filters
    from datatrove.pipeline.filters.c4_filters import C4BadWordsFilter as DtBadWords
    from datatrove.pipeline.filters.c4_filters import C4QualityFilter as DtC4
    from datatrove.pipeline.filters.fineweb_quality_filter import FineWebQualityFilter as DtFineWeb
    from datatrove.pipeline.filters.gopher_quality_filter import GopherQualityFilter as DtGopherQuality
    from datatrove.pipeline.filters.gopher_repetition_filter import GopherRepetitionFilter as DtGopherRep
    from datatrove.pipeline.filters.url_filter import URLFilter as DtURL
    from datatrove.pipeline.formatters.pii import PIIFormatter as DtPII

    from refinedweb import resources

    packaged = Path(resources.__file__).parent / "ldnoobw"
    c4_filters.cached_asset_path_or_download = lambda remote, **_: str(packaged / remote.rsplit("/", 1)[-1])
    url = DtURL()
    url.tldextractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    return {
        "url_filter": url,
        "gopher_repetition": DtGopherRep(),
        "gopher_quality": DtGopherQuality(),
        "c4_quality": DtC4(filter_no_terminal_punct=False),
        "c4_badwords": DtBadWords(),
        "fineweb_quality": DtFineWeb(),
        "pii": DtPII(),
    }


def our_filters():
    return {
        "url_filter": URLFilter(),
        "gopher_repetition": GopherRepetitionFilter(),
        "gopher_quality": GopherQualityFilter.from_dict({"punctuation_tokens": True}),  # as in the fineweb preset
        "c4_quality": C4QualityFilter.from_dict({"filter_no_terminal_punct": False}),
        "c4_badwords": C4BadWordsFilter(),
        "fineweb_quality": FineWebQualityFilter(),
        "pii": PIIFormatter(),
    }


FINEWEB_CHAIN = ("url_filter", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality", "pii")


def run_ours(step, rows) -> tuple[float, dict[str, str]]:
    """Seconds, and the kept documents' (possibly rewritten) texts by id."""
    docs = [Document(r["id"], r["text"], r["url"]) for r in rows]
    start = time.perf_counter()
    kept = list(step(iter(docs)))
    return time.perf_counter() - start, {d.id: d.text for d in kept}


def run_theirs(step, rows) -> tuple[float, dict[str, str]]:
    from datatrove.data import Document as DtDocument

    docs = [DtDocument(text=r["text"], id=r["id"], metadata={"url": r["url"]}) for r in rows]
    kept = []
    start = time.perf_counter()
    for doc in docs:
        if hasattr(step, "filter"):
            result = step.filter(doc)
            if result is True or (isinstance(result, tuple) and result[0]):
                kept.append(doc)
        else:  # a formatter
            doc.text = step.format(doc.text)
            kept.append(doc)
    return time.perf_counter() - start, {d.id: d.text for d in kept}


def run_chain_ours(steps, rows) -> tuple[float, dict[str, str]]:
    """The FineWeb filter chain (no extraction/langid) as our executors run it: one document at a time through the
    chained step generators."""
    docs = [Document(r["id"], r["text"], r["url"]) for r in rows]
    stream = iter(docs)
    for name in FINEWEB_CHAIN:
        stream = steps[name](stream)
    start = time.perf_counter()
    kept = list(stream)
    return time.perf_counter() - start, {d.id: d.text for d in kept}


def run_chain_theirs(steps, rows) -> tuple[float, dict[str, str]]:
    """The same chain in datatrove, one document at a time through the filters (so its per-text word cache
    serves consecutive filters, as in a datatrove pipeline)."""
    from datatrove.data import Document as DtDocument

    docs = [DtDocument(text=r["text"], id=r["id"], metadata={"url": r["url"]}) for r in rows]
    kept = []
    start = time.perf_counter()
    for doc in docs:
        for name in FINEWEB_CHAIN:
            step = steps[name]
            if hasattr(step, "filter"):
                result = step.filter(doc)
                if not (result is True or (isinstance(result, tuple) and result[0])):
                    break
            else:
                doc.text = step.format(doc.text)
        else:
            kept.append(doc)
    return time.perf_counter() - start, {d.id: d.text for d in kept}


def agreement(ids: list[str], ours: set[str], theirs: set[str]) -> dict:
    both_keep = sum(1 for i in ids if i in ours and i in theirs)
    both_drop = sum(1 for i in ids if i not in ours and i not in theirs)
    return {
        "agreement": (both_keep + both_drop) / len(ids),
        "both_keep": both_keep,
        "both_drop": both_drop,
        "only_we_drop": sum(1 for i in ids if i not in ours and i in theirs),
        "only_they_drop": sum(1 for i in ids if i in ours and i not in theirs),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", default=DEFAULT_INPUTS)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--url-inputs", default=URL_INPUTS)
    parser.add_argument("--only", nargs="*", help="run only these filters (names as in the table)")
    parser.add_argument("--json", default="benchmarks/filters.json")
    args = parser.parse_args(argv)

    rows = load_texts(args.inputs, args.limit)
    ids = [r["id"] for r in rows]
    mb = sum(len(r["text"].encode()) for r in rows) / 1e6
    print(f"{len(rows)} documents, {mb:.1f} MB of text from {args.inputs}")
    theirs_steps, ours_steps = datatrove_filters(), our_filters()
    # Warm up both sides (list loading and extraction, regex compilation, spaCy pipeline construction) outside the
    # timings; the timed runs reuse these instances.
    warm = rows[:20]
    for name in ours_steps:
        run_ours(ours_steps[name], copy.deepcopy(warm))
        run_theirs(theirs_steps[name], copy.deepcopy(warm))
    split_words("warm")

    results = []
    header = f"{'filter':<20}{'ours docs/s':>13}{'datatrove docs/s':>18}{'ratio':>8}{'agree':>8}  kept ours/theirs"
    print(header)
    print("-" * len(header))
    wanted = set(args.only) if args.only else None
    for name in ours_steps:
        if wanted is None or name in wanted:
            ours_s, ours_kept = run_ours(ours_steps[name], copy.deepcopy(rows))
            their_s, their_kept = run_theirs(theirs_steps[name], copy.deepcopy(rows))
            results.append(_row(name, rows, ids, ours_s, ours_kept, their_s, their_kept))
    url_rows = load_url_rows(args.url_inputs)
    if url_rows and (wanted is None or "url_filter_cc_urls" in wanted):
        ours_s, ours_kept = run_ours(ours_steps["url_filter"], url_rows)
        their_s, their_kept = run_theirs(theirs_steps["url_filter"], url_rows)
        results.append(_row("url_filter_cc_urls", url_rows, [r["id"] for r in url_rows], ours_s, ours_kept, their_s,
                            their_kept))
    if wanted is None or "fineweb_chain" in wanted:
        ours_s, ours_kept = run_chain_ours(ours_steps, copy.deepcopy(rows))
        their_s, their_kept = run_chain_theirs(theirs_steps, copy.deepcopy(rows))
        results.append(_row("fineweb_chain", rows, ids, ours_s, ours_kept, their_s, their_kept))

    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} {platform.processor() or ''} python {sys.version.split()[0]}",
        "documents": len(rows),
        "megabytes": round(mb, 2),
        "inputs": args.inputs,
        "results": results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


def _row(name, rows, ids, ours_s, ours_kept, their_s, their_kept) -> dict:
    n = len(rows)
    row = {
        "filter": name,
        "ours_docs_per_s": round(n / ours_s, 1),
        "datatrove_docs_per_s": round(n / their_s, 1),
        "ratio": round(their_s / ours_s, 2),
        "kept_ours": len(ours_kept),
        "kept_datatrove": len(their_kept),
        **agreement(ids, ours_kept, their_kept),
    }
    print(f"{name:<20}{row['ours_docs_per_s']:>13.1f}{row['datatrove_docs_per_s']:>18.1f}{row['ratio']:>7.1f}x"
          f"{row['agreement'] * 100:>7.1f}%  {len(ours_kept)}/{len(their_kept)}")
    return row


if __name__ == "__main__":
    sys.exit(main())
