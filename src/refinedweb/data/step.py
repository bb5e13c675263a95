"""Pipeline steps: one small method per role; the base class does the bookkeeping.

Every step consumes an iterator of Documents and yields Documents. The roles:

- ``Filter.keep(doc) -> reason | None``. Threshold filters split this into ``score(doc) -> dict`` (signals, saved
  in ``doc.metadata[step name]``) and ``decide(scores) -> reason | None``, so a run with ``annotate_only: true``
  records every signal without dropping anything and thresholds can be tuned afterwards.
- ``Formatter.format(text) -> text``: rewrites the text; a document left empty is dropped as ``empty``.
- ``Annotator.annotate(doc) -> dict``: adds metadata, never drops.

The base class counts ``total``, ``kept``, ``dropped[reason]`` and time, and sends every dropped document to the
optional rejects sink with the step name and the reason. Constructors are cheap and picklable; anything heavy
(models, word lists) loads in ``setup()``, which runs once per worker before the first document.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, ClassVar, Iterator

from refinedweb.config import Config
from refinedweb.document import Document
from refinedweb.errors import InputError
from refinedweb.stats import StepStats

RejectSink = Callable[[Document, str, str], None]


@dataclasses.dataclass
class StepConfig(Config):
    """Options every step has."""


@dataclasses.dataclass
class FilterConfig(StepConfig):
    annotate_only: bool = False
    """Compute and record the signals but drop nothing."""


class PipelineStep:
    registry_name: ClassVar[str] = ""
    Config: ClassVar[type[StepConfig]] = StepConfig

    def __init__(self, config: StepConfig | None = None, name: str | None = None):
        self.config = config if config is not None else self.Config()
        self.name = name or self.registry_name or type(self).__name__.lower()
        self.stats = StepStats(self.name)
        self.rejects: RejectSink | None = None
        self._ready = False

    @classmethod
    def from_dict(cls, options: dict[str, Any], name: str | None = None) -> "PipelineStep":
        return cls(cls.Config.from_dict(options, where=name or cls.registry_name), name=name)

    def setup(self) -> None:
        """Load models and resources; called once per worker before the first document."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def reject(self, doc: Document, reason: str) -> None:
        self.stats.drop(reason)
        if self.rejects is not None:
            self.rejects(doc, self.name, reason)

    def process(self, docs: Iterator[Document]) -> Iterator[Document]:
        raise NotImplementedError

    def __call__(self, docs: Iterator[Document]) -> Iterator[Document]:
        self.ensure_setup()
        return self.process(docs)


class PerDocumentStep(PipelineStep):
    """A step that decides on one document at a time; subclasses implement ``apply``."""

    def apply(self, doc: Document) -> str | None:
        """Change ``doc`` in place; return a drop reason or None to keep it."""
        raise NotImplementedError

    def process(self, docs: Iterator[Document]) -> Iterator[Document]:
        stats = self.stats
        clock = time.perf_counter
        for doc in docs:
            start = clock()
            stats.total += 1
            try:
                reason = self.apply(doc)
            except InputError as exc:
                reason = exc.reason
            stats.seconds += clock() - start
            if reason is None:
                stats.kept += 1
                yield doc
            else:
                self.reject(doc, reason)


class Filter(PerDocumentStep):
    """Keep or drop. Override ``keep``, or ``score`` and ``decide`` to separate signals from thresholds."""

    Config: ClassVar[type[StepConfig]] = FilterConfig

    def score(self, doc: Document) -> dict[str, Any]:
        raise NotImplementedError

    def decide(self, scores: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def keep(self, doc: Document) -> str | None:
        scores = self.score(doc)
        doc.metadata[self.name] = {
            k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()
        }
        return self.decide(scores)

    def apply(self, doc: Document) -> str | None:
        reason = self.keep(doc)
        if reason is not None and getattr(self.config, "annotate_only", False):
            doc.metadata.setdefault(self.name, {})["would_drop"] = reason
            return None
        return reason


class Formatter(PerDocumentStep):
    """Rewrite the text. A document whose text becomes empty is dropped as ``empty``."""

    def format(self, text: str) -> str:
        raise NotImplementedError

    def apply(self, doc: Document) -> str | None:
        doc.text = self.format(doc.text)
        return None if doc.text.strip() else "empty"


class Annotator(PerDocumentStep):
    """Add metadata under the step's name; never drops."""

    def annotate(self, doc: Document) -> dict[str, Any]:
        raise NotImplementedError

    def apply(self, doc: Document) -> str | None:
        doc.metadata[self.name] = self.annotate(doc)
        return None
