"""The extraction step: HTML in ``doc.text`` → main text, with the RefinedWeb formatting.

A per-document time limit (SIGALRM in the worker's main thread) makes a pathological page cost one document, not
the run: it is dropped as ``extract_timeout``. The compromise: the timer interrupts Python code at once and native
code when it returns to Python, so pages larger than ``max_html_bytes`` are skipped before parsing as
``html_too_large``, which bounds the native part, and the ``refinedweb`` engine skips a page whose rendering has more
than ``max_lines`` lines as ``too_many_lines`` before it builds its per-line tables (their memory is not bounded by
the page size alone: ~800k short lines fit in 5 MB of HTML).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import signal
import threading
from contextlib import contextmanager

from refinedweb.data.extract.base import ENGINES, Extracted, get_engine
from refinedweb.data.step import PerDocumentStep, StepConfig
from refinedweb.document import Document
from refinedweb.errors import ConfigError, InputError
from refinedweb.registry import register

__all__ = ["Extract", "Extracted", "ENGINES", "get_engine", "format_refinedweb"]

_MANY_NEWLINES = re.compile(r"\n{3,}")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
# Runs of horizontal whitespace (no-break and the Unicode typographic spaces included) that are not already one plain
# space: a run starting with another space character, or a space followed by more. Matching lone spaces too would
# replace every space of the text with itself (a third of this function's time on real pages).
_WS = r"\t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000"
_SPACES = re.compile(f"[{_WS}][ {_WS}]*| [ {_WS}]+")
_LINE_EDGES = re.compile(r" \n ?|\n ")  # a space at either side of a line break (not every line break)


def format_refinedweb(text: str, remove_urls: bool = False) -> str:
    """RefinedWeb's formatting after extraction: at most two consecutive newlines, optionally no URLs. Runs of
    horizontal whitespace become one space and lines are trimmed (whole-text passes, not a loop over lines)."""
    if remove_urls:
        text = _URL.sub("", text)
    text = _LINE_EDGES.sub("\n", _SPACES.sub(" ", text))
    return _MANY_NEWLINES.sub("\n\n", text).strip()


_HTML_START = re.compile(r"<(?:!doctype|html|head|body|div|p|meta|title)\b", re.IGNORECASE)


def is_html(doc: Document) -> bool:
    """HTML from a WARC/ARC response, or text that starts like an HTML page (JSONL holding raw HTML)."""
    source = doc.metadata.get("warc") or doc.metadata.get("arc")
    if isinstance(source, dict) and "payload" in source:
        return source["payload"] == "html"
    if "arc" in doc.metadata:
        return True
    head = doc.text[:2048].lstrip()
    return head.startswith("<") and _HTML_START.search(head) is not None


class ExtractTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: float | None):
    """Raise ExtractTimeout after ``seconds`` (main thread only; elsewhere no limit is applied)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise ExtractTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclasses.dataclass
class ExtractConfig(StepConfig):
    engine: str = "refinedweb"
    """refinedweb (ours: above resiliparse on every development set at about twice its speed), resiliparse,
    trafilatura, or any name in refinedweb.data.extract.base.ENGINES."""
    timeout_seconds: float | None = 2.0
    """Per-document time limit; None disables it."""
    max_html_bytes: int = 5_000_000
    """Pages longer than this many characters of decoded HTML (not bytes: measuring bytes would encode every page
    again) are skipped as html_too_large; a page of 3-byte CJK characters may hold three times this in UTF-8."""
    max_lines: int = 50_000
    """Engines that render a page into lines first (``refinedweb``) skip a page whose rendering has more lines than
    this as too_many_lines, before building the per-line tables whose memory the time limit cannot bound (see
    ``MAX_LINES`` in ``main_text.py`` for how the default was chosen). Other engines ignore it."""
    remove_urls: bool = False
    """RefinedWeb removes URLs from the extracted text."""
    min_chars: int = 1
    """Documents with less extracted text than this are dropped as empty."""

    def validate(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"extract.engine={self.engine!r}; use one of {', '.join(sorted(ENGINES))}")
        self.check_range("timeout_seconds", 0.001)
        self.check_range("max_html_bytes", 1)
        self.check_range("max_lines", 1)


@register("extract")
class Extract(PerDocumentStep):
    Config = ExtractConfig

    def setup(self) -> None:
        engine = get_engine(self.config.engine)
        if "max_lines" in inspect.signature(engine).parameters:  # an engine that renders lines takes the cap
            engine = functools.partial(engine, max_lines=self.config.max_lines)
        self._engine = engine

    def apply(self, doc: Document) -> str | None:
        if not is_html(doc):
            # WET records and JSONL input are already text: only the formatting applies.
            doc.text = format_refinedweb(doc.text, self.config.remove_urls)
            return None if len(doc.text) >= max(1, self.config.min_chars) else "empty"
        html = doc.text
        if len(html) > self.config.max_html_bytes:
            return "html_too_large"
        try:
            with time_limit(self.config.timeout_seconds):
                result: Extracted = self._engine(html, doc.url)
        except ExtractTimeout:
            return "extract_timeout"
        except InputError as exc:
            return exc.reason
        except (ValueError, TypeError, RecursionError, UnicodeError, AssertionError, LookupError):
            # An engine that cannot parse a page costs that page only.
            return "extract_error"
        text = format_refinedweb(result.text, self.config.remove_urls)
        if len(text) < max(1, self.config.min_chars):
            return "empty"
        doc.text = text
        hints = {k: v for k, v in (("title", result.title), ("html_lang", result.lang)) if v}
        if hints:
            doc.metadata["extract"] = hints
        return None
