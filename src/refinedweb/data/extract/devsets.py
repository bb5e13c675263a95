"""The extraction development sets: real pages in a WARC beside a gold JSONL (``<set>.warc.gz`` +
``<set>.gold.jsonl.gz``, see ``/work/shared/data/README``), and the reference scorer's metric.

Used by ``benchmarks/extraction.py`` and by the block-model training (``refinedweb.data.extract.train``); the engine
itself never imports this module.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from refinedweb.errors import ConfigError, InputError

SETS = ("aeb", "magic-html", "mozilla", "dragnet", "cleaneval-dev")

_TOKEN = re.compile(r"\w+")


@dataclass
class DevPage:
    url: str
    html: str
    gold: str
    set: str


def tokens(text: str) -> Counter:
    """The scorer's bag of words: lower-cased ``\\w+`` runs (a run of CJK characters is one token)."""
    return Counter(_TOKEN.findall(text.lower()))


def words_in_order(text: str) -> list[str]:
    """The scorer's tokens in text order (for aligning lines to the gold)."""
    return _TOKEN.findall(text.lower())


def page_prf(gold: str, predicted: str) -> tuple[float, float, float]:
    """Token-level precision, recall, F1 of one page, exactly as /work/shared/tools/score_extraction.py computes them."""
    return token_prf(tokens(gold), tokens(predicted))


def token_prf(a: Counter, b: Counter) -> tuple[float, float, float]:
    """``page_prf`` on bags of words already counted (gold ``a``, predicted ``b``); training reuses the gold's."""
    common = sum((a & b).values())
    p = common / max(1, sum(b.values()))
    r = common / max(1, sum(a.values()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def load_set(data_dir: str | Path, name: str, limit: int | None = None) -> list[DevPage]:
    """Decode every response record of ``<name>.warc.gz`` and pair it with its gold line (by URL)."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    from refinedweb.data.readers.charset import decode_html

    base = Path(data_dir)
    warc, gold_path = base / f"{name}.warc.gz", base / f"{name}.gold.jsonl.gz"
    if not warc.exists() or not gold_path.exists():
        raise ConfigError(f"extraction set {name!r} not found: expected {warc} and {gold_path}; pass --data DIR")
    with gzip.open(gold_path, "rt", encoding="utf-8") as fh:
        gold = {(r["url"] or "").strip(): r["text"] for r in map(json.loads, fh)}
    pages: list[DevPage] = []
    with open(warc, "rb") as fh:
        for record in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
            url = record.headers["WARC-Target-URI"].strip()
            body = record.reader.read()
            try:
                html, _ = decode_html(body, record.http_charset)
            except InputError:
                html = ""  # counted as an empty prediction, as the reference scorer would
            pages.append(DevPage(url=url, html=html, gold=gold.get(url, ""), set=name))
            if limit and len(pages) >= limit:
                break
    return pages
