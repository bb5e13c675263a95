"""CoNLL column files: one token per line, the token in the first column and its tag in the last, a blank line
between sentences, ``-DOCSTART-`` lines between documents (CoNLL-2003, Tjong Kim Sang & De Meulder 2003).

Tags arrive in one of several schemes and leave in one: IOB2 (every entity starts with ``B-``), the scheme that
seqeval and the Hugging Face token-classification examples use.

- IOB1 (CoNLL-2003's own files): ``B-`` only separates two adjacent entities of the same type, so an ``I-X`` that
  does not continue an ``X`` entity starts one. The same rewrite leaves valid IOB2 unchanged, so IOB1 and IOB2 share
  one code path.
- BMES / IOBES (e.g. the Chinese Resume NER set): ``S-X`` -> ``B-X``, ``M-X``/``E-X`` -> ``I-X``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from refinedweb.errors import ConfigError
from refinedweb.io import open_text_stream

SCHEMES = ("auto", "iob1", "iob2", "bmes", "iobes")


@dataclass
class Sentence:
    tokens: list[str]
    labels: list[str]
    # 1-based line of the first token, for error messages
    line: int = 0
    extra: dict = field(default_factory=dict)


def read_conll(path: str, scheme: str = "auto", labelled: bool = True) -> list[Sentence]:
    """Read a CoNLL file into sentences with IOB2 labels. A line with a single column, or with a different number
    of columns than the file's first token line, is an error that names the file and the line.

    ``labelled=False`` reads only the tokens (first column; a one-column file is fine) and leaves ``labels`` empty:
    the unlabelled sentences of distillation, whose targets come from the teacher."""
    if scheme not in SCHEMES:
        raise ConfigError(f"label scheme {scheme!r} is unknown; use one of {', '.join(SCHEMES)}")
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    width = None
    with open_text_stream(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                if tokens:
                    sentences.append(Sentence(tokens, tags, start))
                tokens, tags = [], []
                continue
            columns = line.split()
            if columns[0] == "-DOCSTART-":
                continue
            if width is None:
                width = len(columns)
            if (labelled and len(columns) < 2) or len(columns) != width:
                raise ConfigError(
                    f"{path}:{number}: malformed CoNLL line {line!r}: expected {width if width and width > 1 else 'at least 2'} "
                    "whitespace-separated columns (token ... tag); fix or delete the line, and separate sentences "
                    "with one blank line"
                )
            tag = columns[-1] if labelled else ""
            if labelled and tag != "O" and (len(tag) < 3 or tag[1] != "-" or tag[0] not in "BIMES"):
                raise ConfigError(
                    f"{path}:{number}: tag {tag!r} is not O or a B-/I-/M-/E-/S- prefixed type; the tag must be the last column"
                )
            if not tokens:
                start = number
            tokens.append(columns[0])
            if labelled:
                tags.append(tag)
    if tokens:
        sentences.append(Sentence(tokens, tags, start))
    if not sentences:
        raise ConfigError(f"{path} holds no sentences; check the path (the split is empty)")
    for sentence in sentences:
        sentence.labels = to_iob2(sentence.labels, scheme)
    return sentences


def to_iob2(tags: list[str], scheme: str = "auto") -> list[str]:
    """Rewrite one sentence's tags into IOB2 (see the module docstring for the rules)."""
    out: list[str] = []
    previous = "O"
    for tag in tags:
        if tag == "O":
            out.append(tag)
            previous = tag
            continue
        prefix, kind = tag[0], tag[2:]
        if prefix in "SB":
            prefix = "B"
        elif prefix in "ME":
            prefix = "I"
        if prefix == "I" and previous[2:] != kind:
            prefix = "B"  # IOB1 (or a broken IOB2 sequence): an I- that continues nothing starts an entity
        new = f"{prefix}-{kind}"
        out.append(new)
        previous = new
        if tag[0] in "ES":
            previous = "O"  # an entity ends here: a following I-/M- of the same type starts a new one
    return out
