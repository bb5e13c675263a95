"""URL filtering, RefinedWeb's first stage (Penedo et al. 2023, Macrodata Refinement stage 1).

RefinedWeb combines (1) a blocklist of domains and (2) a URL score computed from a list of words weighted by
severity; it also removes curated high-quality sources (Wikipedia, arXiv, ...) to keep the corpus web-only
(``reference/pipeline-anchors.md`` §1.2, §1.6). datatrove's ``URLFilter`` (FineWeb) has the same shape: any
"banned word" drops, two "soft-banned words" drop, and "banned subwords" match inside the URL (§3.2).

The lists shipped in ``refinedweb/resources/url`` are small hand-made seeds (see their headers); production runs
should add a full blocklist with ``blocklist_files``. Nothing is downloaded, ever.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from refinedweb.data.step import Filter, FilterConfig
from refinedweb.document import Document
from refinedweb.errors import ConfigError
from refinedweb.registry import register
from refinedweb.resources import packaged_lines

_TOKEN_SPLIT_RE = re.compile(r"[^a-z0-9]+")
_SUBSTRING_STRIP_RE = re.compile(r"[-._]")


@dataclasses.dataclass
class URLFilterConfig(FilterConfig):
    use_default_blocklist: bool = True
    """Use the small domain list shipped in ``resources/url/blocked_domains.txt``."""
    blocklist_files: list[str] = dataclasses.field(default_factory=list)
    """More domain blocklists: text files, one domain per line, ``#`` comments; a domain blocks its subdomains."""
    url_words_file: str | None = None
    """A weighted word list (``word<TAB>weight<TAB>token|substring``) replacing ``resources/url/url_words.tsv``."""
    max_url_score: float | None = 1.0
    """Drop when the summed weights of the distinct words a URL matches reach this; ``null`` disables."""
    exclude_curated_sources: bool = False
    """Also drop RefinedWeb's curated sources (Wikipedia, arXiv, GitHub, ...; ``resources/url/curated_sources.txt``)."""
    drop_missing_url: bool = False
    """Drop documents without a URL (``url_missing``); by default they are kept and counted as ``no_url``."""

    def validate(self) -> None:
        self.check_range("max_url_score", 0.0)
        for path in self.blocklist_files + ([self.url_words_file] if self.url_words_file else []):
            if not Path(path).is_file():
                raise ConfigError(f"url_filter: list file {path} does not exist; fix the path or remove it")


@register("url_filter")
class URLFilter(Filter):
    """Drop documents by URL: ``url_blocked_domain`` (host or a parent domain is listed), ``url_curated_source``,
    ``url_score`` (weighted word score ≥ ``max_url_score``), ``url_missing`` (only with ``drop_missing_url``).

    Metadata: ``domain`` (the host), ``score`` and ``words`` (matched words). Hosts are lower-cased, a leading
    ``www.`` and a port are ignored, and every suffix of the host with at least two labels is looked up, so
    listing ``example.com`` blocks ``a.b.example.com``.
    """

    Config = URLFilterConfig
    config: URLFilterConfig

    def setup(self) -> None:
        cfg = self.config
        domains: set[str] = set()
        if cfg.use_default_blocklist:
            domains.update(packaged_lines("url", "blocked_domains.txt"))
        for path in cfg.blocklist_files:
            domains.update(_read_list(Path(path)))
        self._blocked = frozenset(d.lower().strip(".") for d in domains)
        self._curated = (
            frozenset(packaged_lines("url", "curated_sources.txt")) if cfg.exclude_curated_sources else frozenset()
        )
        rows = _read_list(Path(cfg.url_words_file)) if cfg.url_words_file else packaged_lines("url", "url_words.tsv")
        self._token_words: dict[str, float] = {}
        self._substring_words: dict[str, float] = {}
        for number, row in enumerate(rows, 1):
            parts = row.split("\t")
            if len(parts) != 3 or parts[2] not in ("token", "substring"):
                raise ConfigError(
                    f"url_filter: url words row {number} ({row!r}) must be word<TAB>weight<TAB>token|substring"
                )
            try:
                weight = float(parts[1])
            except ValueError:
                raise ConfigError(f"url_filter: url words row {number}: weight {parts[1]!r} is not a number") from None
            table = self._token_words if parts[2] == "token" else self._substring_words
            table[parts[0].lower()] = weight
        if self._substring_words:
            self._substring_re = re.compile("|".join(map(re.escape, sorted(self._substring_words, key=len, reverse=True))))

    def score(self, doc: Document) -> dict[str, Any]:
        url = doc.url.strip().lower()
        if not url:
            self.stats.counters["no_url"] += 1
            return {"domain": None}
        host = _host(url)
        matched: dict[str, float] = {}
        for token in _TOKEN_SPLIT_RE.split(url):
            if token in self._token_words:
                matched[token] = self._token_words[token]
        if self._substring_words:
            for found in self._substring_re.findall(_SUBSTRING_STRIP_RE.sub("", url)):
                matched[found] = max(matched.get(found, 0.0), self._substring_words[found])
        return {
            "domain": host,
            "blocked_domain": _listed(host, self._blocked),
            "curated_source": _listed(host, self._curated),
            "score": sum(matched.values()),
            "words": sorted(matched),
        }

    def decide(self, s: dict[str, Any]) -> str | None:
        if s["domain"] is None:
            return "url_missing" if self.config.drop_missing_url else None
        if s["blocked_domain"]:
            return "url_blocked_domain"
        if s["curated_source"]:
            return "url_curated_source"
        if self.config.max_url_score is not None and s["score"] >= self.config.max_url_score:
            return "url_score"
        return None


def _read_list(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"url_filter: cannot read list file {path}: {exc}") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _host(url: str) -> str:
    if "://" not in url:
        url = "http://" + url
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # e.g. a malformed IPv6 literal
        host = ""
    return host[4:] if host.startswith("www.") else host


def _listed(host: str, domains: frozenset[str]) -> bool:
    """True if the host or one of its parent domains (with at least two labels) is in ``domains``."""
    if not domains or not host:
        return False
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(max(len(labels) - 1, 1)))
