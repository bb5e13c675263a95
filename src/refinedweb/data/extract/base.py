"""The extraction engine interface: ``engine(html: str, url: str) -> Extracted``.

An engine is a plain function registered in ``ENGINES`` by name with the import path that provides it, so choosing
an engine imports only that engine's dependencies.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from refinedweb.errors import ConfigError


@dataclass
class Extracted:
    text: str
    """The main text: paragraphs, headings, list items and table rows as lines."""
    title: str | None = None
    """From ``<title>`` (or og:title) when the page has one."""
    lang: str | None = None
    """The page's own language hint (``<html lang>``, ``content-language`` meta), lower-cased, when present."""


Engine = Callable[[str, str], Extracted]

ENGINES: dict[str, str] = {
    "resiliparse": "refinedweb.data.extract.engines:resiliparse",
    "trafilatura": "refinedweb.data.extract.engines:trafilatura",
    "refinedweb": "refinedweb.data.extract.main_text:refinedweb",
}


def get_engine(name: str) -> Engine:
    if name not in ENGINES:
        raise ConfigError(f"unknown extraction engine {name!r}; engines: {', '.join(sorted(ENGINES))}")
    module, attr = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), attr)
