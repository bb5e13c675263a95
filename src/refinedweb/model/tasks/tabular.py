"""Text classification files: TSV, CSV or JSONL (optionally ``.gz``/``.zst``) with a text column and a label column.

TSV/CSV files need a header row (SST-2's ``sentence<TAB>label``). The text column is the one named by
``text_column``, or else the first of ``text``, ``sentence``, ``content``, ``review``; the label column is
``label_column`` (default ``label``). Labels are kept as strings (``"0"``, ``"positive"``); the label set comes from
the training file.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass

from refinedweb.errors import ConfigError
from refinedweb.io import open_text_stream

TEXT_COLUMNS = ("text", "sentence", "content", "review")


@dataclass
class Example:
    text: str
    label: str
    line: int = 0


def read_labelled_texts(path: str, text_column: str | None = None, label_column: str = "label",
                        labelled: bool = True) -> list[Example]:
    """Read (text, label) examples. A row without the text or label is an error naming the file and the line.
    ``labelled=False`` needs only the text column and leaves ``label`` empty (unlabelled distillation data)."""
    base = path.removesuffix(".gz").removesuffix(".zst")
    with open_text_stream(path) as handle:
        if base.endswith(".jsonl") or base.endswith(".json"):
            rows = jsonl_rows(handle, path)
        elif base.endswith(".tsv") or base.endswith(".csv"):
            rows = enumerate(csv.DictReader(handle, delimiter="\t" if base.endswith(".tsv") else ","), 2)
        else:
            raise ConfigError(f"{path}: unknown file type; use .tsv, .csv or .jsonl (optionally .gz)")
        examples = []
        for number, row in rows:
            column = text_column or next((c for c in TEXT_COLUMNS if c in row), None)
            if column is None or column not in row or (labelled and label_column not in row):
                raise ConfigError(
                    f"{path}:{number}: needs a text column ({text_column or ' or '.join(TEXT_COLUMNS)}) and a label "
                    f"column ({label_column!r}); found {sorted(k for k in row if k)}; pass --text-column/--label-column"
                )
            text, label = row[column], row.get(label_column, "") if labelled else ""
            if text is None or label is None or (labelled and str(label).strip() == ""):
                raise ConfigError(f"{path}:{number}: row has no text or no label; fix or delete the row")
            examples.append(Example(str(text).strip(), str(label).strip(), number))
    if not examples:
        raise ConfigError(f"{path} holds no examples; check the path (the split is empty)")
    return examples


def jsonl_rows(handle, path: str):
    """(line number, object) per non-blank line; invalid JSON or a non-object is an error naming file and line."""
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not valid JSON ({exc.msg}); fix or delete the line") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{path}:{number}: expected a JSON object per line")
        yield number, row
