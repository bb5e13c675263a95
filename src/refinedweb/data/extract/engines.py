"""The two reference engines behind the common interface.

- ``resiliparse``: lexbor DOM + ``extract_plain_text(main_content=True)``; fast (about 250 pages/s per core) but
  keeps more boilerplate.
- ``trafilatura``: ``extract(favor_precision=True)``, the choice of RefinedWeb and FineWeb; precise but slow
  (about 20 pages/s per core). ``deduplicate`` and comments are off, as in datatrove's FineWeb example.
"""

from __future__ import annotations

from refinedweb.data.extract.base import Extracted


def _resiliparse_hints(tree) -> tuple[str | None, str | None]:
    title = (tree.title or "").strip() or None
    lang = None
    html = tree.document.query_selector("html") if tree.document is not None else None
    if html is not None:
        lang = (html.getattr("lang") or "").strip().lower() or None
    return title, lang


def resiliparse(html: str, url: str = "") -> Extracted:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    text = extract_plain_text(tree, main_content=True, alt_texts=False, links=False, list_bullets=False)
    title, lang = _resiliparse_hints(tree)
    return Extracted(text=text, title=title, lang=lang)


def trafilatura(html: str, url: str = "") -> Extracted:
    try:
        import trafilatura as traf
    except ImportError as exc:  # lxml >= 5.2 needs lxml_html_clean beside trafilatura
        from refinedweb.errors import MissingDependencyError

        raise MissingDependencyError(exc.name or "trafilatura", "all") from exc

    text = traf.extract(
        html,
        url=url or None,
        favor_precision=True,
        include_comments=False,
        deduplicate=False,
        include_tables=True,
    )
    title = lang = None
    try:
        from resiliparse.parse.html import HTMLTree

        title, lang = _resiliparse_hints(HTMLTree.parse(html))
    except Exception:  # hints are best effort; the text is what matters
        pass
    return Extracted(text=text or "", title=title, lang=lang)
