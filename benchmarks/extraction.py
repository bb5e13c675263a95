"""Main-text extraction: every engine on every development set, quality and speed on one core, in one run.

    PYTHONPATH=src python benchmarks/extraction.py [--sets aeb,mozilla] [--limit 50] [--json out.json]
        [--scorer /work/shared/tools/score_extraction.py]

Quality is the token-level bag-of-words precision / recall / F1 against the gold text, per page, averaged over pages
(``refinedweb.data.extract.devsets.page_prf`` replicates /work/shared/tools/score_extraction.py). With ``--scorer``
the predictions are also written as JSONL and scored by that reference script, and the two results must be equal.

Speed: the engines run one after another on each page, in a rotating order, in this one process (one core), so a
busy machine slows them alike; pages/s counts engine time only (the WARC is read and decoded beforehand, with
``refinedweb.data.readers.charset.decode_html``). Both wall-clock and CPU-time rates are reported, because the
development machine is shared. A page an engine cannot handle counts as a skip with empty text, never a crash.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from refinedweb.data.extract.base import get_engine
from refinedweb.data.extract.devsets import SETS, load_set, page_prf
from refinedweb.errors import InputError

ENGINES = ("resiliparse", "trafilatura", "refinedweb")


def run_set(pages, engines: dict) -> dict:
    names = list(engines)
    texts = {name: [] for name in names}
    wall = {name: 0.0 for name in names}
    cpu = {name: 0.0 for name in names}
    skips = {name: 0 for name in names}
    for i, page in enumerate(pages):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                text = engines[name](page.html, page.url).text
            except (InputError, ValueError, TypeError, RecursionError, UnicodeError, LookupError):
                text, skips[name] = "", skips[name] + 1
            wall[name] += time.perf_counter() - t0
            cpu[name] += time.process_time() - c0
            texts[name].append(text)
    out = {}
    for name in names:
        scores = [page_prf(p.gold, t) for p, t in zip(pages, texts[name])]
        n = max(len(scores), 1)
        out[name] = {
            "P": round(sum(s[0] for s in scores) / n, 4),
            "R": round(sum(s[1] for s in scores) / n, 4),
            "F1": round(sum(s[2] for s in scores) / n, 4),
            "pages": len(pages),
            "skips": skips[name],
            "pages_per_s": round(len(pages) / max(wall[name], 1e-9), 1),
            "pages_per_cpu_s": round(len(pages) / max(cpu[name], 1e-9), 1),
            "_texts": texts[name],
        }
    return out


def reference_check(scorer: str, data_dir: str, set_name: str, pages, texts: list[str], limit: int | None) -> dict:
    """Score ``texts`` with the reference script; with --limit the gold is cut to the same pages."""
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(tmp) / "pred.jsonl"
        pred.write_text("".join(json.dumps({"url": p.url, "text": t}) + "\n" for p, t in zip(pages, texts)))
        gold = Path(data_dir) / f"{set_name}.gold.jsonl.gz"
        if limit:
            urls = {p.url for p in pages}
            with gzip.open(gold, "rt", encoding="utf-8") as fh:
                lines = [ln for ln in fh if json.loads(ln)["url"].strip() in urls]
            gold = Path(tmp) / "gold.jsonl"
            gold.write_text("".join(lines), encoding="utf-8")
        res = subprocess.run([sys.executable, scorer, str(gold), str(pred)], capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="extraction engines on the development sets")
    parser.add_argument("--data", default="/work/shared/data/extraction", help="folder with <set>.warc.gz + gold")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--limit", type=int, default=None, help="first N pages of each set")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--scorer", default=None, help="path of score_extraction.py: check our scores against it")
    args = parser.parse_args(argv)

    engines = {name: get_engine(name) for name in args.engines.split(",") if name}
    results: dict = {"machine": f"{os.cpu_count()}-core VM, shared with other jobs", "date": time.strftime("%Y-%m-%d"),
                     "command": " ".join(sys.argv), "sets": {}}
    header = f"{'set':14s} {'engine':12s} {'P':>6s} {'R':>6s} {'F1':>6s} {'pages/s':>8s} {'cpu p/s':>8s} {'skips':>5s}"
    print(header)
    for set_name in [s for s in args.sets.split(",") if s]:
        pages = load_set(args.data, set_name, args.limit)
        res = run_set(pages, engines)
        for name, r in res.items():
            print(f"{set_name:14s} {name:12s} {r['P']:6.3f} {r['R']:6.3f} {r['F1']:6.3f} {r['pages_per_s']:8.1f} "
                  f"{r['pages_per_cpu_s']:8.1f} {r['skips']:5d}", flush=True)
            if args.scorer:
                ref = reference_check(args.scorer, args.data, set_name, pages, r["_texts"], args.limit)
                r["reference_scorer"] = ref
                same = all(ref[k] == r[k] for k in ("P", "R", "F1"))
                print(f"{'':14s} {'':12s} reference scorer {ref['P']:.4f} {ref['R']:.4f} {ref['F1']:.4f} "
                      f"{'equal' if same else 'DIFFERENT'}")
                if not same:
                    return 1
            del r["_texts"]
        if "refinedweb" in res:
            ours = res["refinedweb"]
            anchors = {k: v for k, v in res.items() if k != "refinedweb"}
            if anchors:
                best = max(anchors.values(), key=lambda v: v["F1"])
                summary = {"f1_minus_best_anchor": round(ours["F1"] - best["F1"], 4)}
                if "resiliparse" in res:
                    rp = res["resiliparse"]
                    summary["speed_ratio_vs_resiliparse"] = round(ours["pages_per_s"] / rp["pages_per_s"], 3)
                    summary["cpu_speed_ratio_vs_resiliparse"] = round(ours["pages_per_cpu_s"] / rp["pages_per_cpu_s"], 3)
                print(f"{set_name:14s} refinedweb: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
                res["summary"] = summary
        results["sets"][set_name] = res
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
