"""The one data model that flows through every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Document:
    """A document: ``id`` is stable (no step changes it), ``text`` is what steps work on, ``metadata`` is a dict in
    which each step writes under its own key. ``url`` is kept beside the text because every later step (URL filter,
    URL dedup, writers) needs it."""

    id: str
    text: str
    url: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "text": self.text, "metadata": self.metadata}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Document":
        return cls(
            id=str(record["id"]),
            text=record.get("text") or "",
            url=record.get("url") or "",
            metadata=dict(record.get("metadata") or {}),
        )
