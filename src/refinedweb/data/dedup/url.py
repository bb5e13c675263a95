"""URL dedup: documents whose normalised URLs are equal are duplicates; the first (smallest ref) stays.

Which copy stays: the one from the input file that sorts first, and within a file the earlier record. Name input
files in crawl order (e.g. ``CC-MAIN-2023-06`` before ``CC-MAIN-2023-14``) and this is RefinedWeb's rule: "a list
of URLs kept from each part is maintained, and those URLs are removed from later parts" (Penedo et al. 2023, as
summarised in docs/reference/pipeline-anchors.md §1.2, stage 9).

Normalisation (``normalise_url``), so that trivially different spellings of one page match:
- the scheme is ignored (``http`` and ``https`` are the same page), the host is lower-cased, a leading ``www.`` and a
  default port (80, 443) are dropped;
- the fragment is dropped, and so are tracking parameters (``utm_*``, ``fbclid``, ``gclid``); the other query
  parameters are kept, sorted;
- a trailing ``/`` of the path is dropped; the path is otherwise kept as it is (paths are case-sensitive).
Documents without a URL are exempt (counted as ``unkeyed``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from refinedweb.data.dedup.stage import KeyedConfig, KeyedStage
from refinedweb.document import Document

_TRACKING = ("utm_", "fbclid", "gclid")


def normalise_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:  # a malformed URL (bad port, bad IPv6) is compared as written
        return url.strip()
    host = host.removeprefix("www.")
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith(_TRACKING))
    path = parts.path.rstrip("/")
    return f"{host}{path}" + (f"?{urlencode(query)}" if query else "")


class UrlDedup(KeyedStage):
    Config = KeyedConfig
    reason = "url_duplicate"

    def key_text(self, doc: Document) -> str:
        return normalise_url(doc.url) if doc.url.strip() else ""
