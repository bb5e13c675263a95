"""The Extract step: engines behind one interface, the time limit, counted failures, RefinedWeb formatting."""

import time

import pytest

from refinedweb.data.extract import Extract, base, format_refinedweb
from refinedweb.data.readers import read_documents
from refinedweb.document import Document


def html_doc(html: str) -> Document:
    return Document(id="x", text=html, url="http://example.org/", metadata={"warc": {"payload": "html"}})


PAGE = (
    "<html lang='en'><head><title>A title</title></head><body><nav><a href='/'>Home</a></nav>"
    "<article><h1>Heading</h1><p>" + "This is the main text of the article, written in full sentences. " * 8
    + "</p></article></body></html>"
)


@pytest.mark.parametrize("engine", ["refinedweb", "resiliparse", "trafilatura"])
def test_engines_extract_main_text_and_hints(engine):
    step = Extract.from_dict({"engine": engine})
    [doc] = list(step([html_doc(PAGE)]))
    assert "main text of the article" in doc.text
    assert doc.metadata["extract"]["title"] == "A title"
    assert doc.metadata["extract"]["html_lang"] == "en"


def test_real_sample_pages(sample_warcs):
    step = Extract.from_dict({})
    docs = list(step(read_documents(sample_warcs[-1])))
    assert docs and step.stats.consistent()
    assert all("<html" not in d.text.lower() for d in docs)


def test_time_limit_costs_one_document(monkeypatch):
    def slow(html, url=""):
        if "slow" in html:
            while True:
                time.sleep(0.01)
        return base.Extracted(text="fine text")

    monkeypatch.setitem(base.ENGINES, "test_slow", "tests_engine:slow")
    import refinedweb.data.extract as extract_module

    monkeypatch.setattr(extract_module, "get_engine", lambda name: slow)
    step = Extract.from_dict({"engine": "test_slow", "timeout_seconds": 0.2})
    start = time.monotonic()
    docs = list(step([html_doc("<html><p>slow</p></html>"), html_doc("<html><p>ok</p></html>")]))
    assert time.monotonic() - start < 5
    assert [d.text for d in docs] == ["fine text"]
    assert step.stats.dropped == {"extract_timeout": 1}


def test_engine_errors_and_huge_pages_are_counted(monkeypatch):
    import refinedweb.data.extract as extract_module

    def broken(html, url=""):
        raise ValueError("cannot parse")

    monkeypatch.setattr(extract_module, "get_engine", lambda name: broken)
    step = Extract.from_dict({"max_html_bytes": 100})
    docs = list(step([html_doc("<html><p>x</p></html>"), html_doc("<html>" + "x" * 200 + "</html>")]))
    assert docs == [] and step.stats.dropped == {"extract_error": 1, "html_too_large": 1}


def test_text_documents_are_only_formatted():
    step = Extract.from_dict({"remove_urls": True})
    doc = Document(id="t", text="Line one see https://example.com/x\n\n\n\n\nLine two", metadata={"warc": {"payload": "text"}})
    [out] = list(step([doc]))
    assert out.text == "Line one see\n\nLine two"


def test_format_refinedweb_equals_a_line_by_line_reference():
    """The whole-text regex passes give what the plain rule gives: per line, runs of horizontal white space become
    one space and the line is trimmed; at most two consecutive line breaks; no white space at either end."""
    import random
    import re

    def reference(text):
        lines = [" ".join(re.split(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+", line)).strip(" ")
                 for line in text.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()

    rng = random.Random(0)
    pieces = [" ", "  ", "\n", "\t", "\r", "\u00a0", "\u3000", "\u2009", "a", "bc", "\u4e2d"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        assert format_refinedweb(text) == reference(text), repr(text)


def test_format_refinedweb_caps_newlines():
    assert format_refinedweb("a\n\n\n\nb\n  c  ") == "a\n\nb\nc"


def test_default_engine_without_its_c_extension_stops_at_setup(monkeypatch):
    # An install without a C compiler skips the optional extensions; choosing the engine must then fail before
    # the first page, with the build hint and the alternative, not count every page as a failure.
    import importlib
    import sys

    real = importlib.import_module

    def without_walk(name, *args, **kwargs):
        if name == "refinedweb.data.extract._htmlwalk":
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", without_walk)
    monkeypatch.delitem(sys.modules, "refinedweb.data.extract.main_text")
    step = Extract.from_dict({})
    assert step.config.engine == "refinedweb"
    with pytest.raises(ImportError, match=r"_htmlwalk\.c is not built.*extract\.engine: resiliparse"):
        step.setup()
