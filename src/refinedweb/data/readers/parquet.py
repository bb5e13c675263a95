"""Parquet documents, read one row group at a time; a work unit is a range of row groups ``[start, end)``."""

from __future__ import annotations

import json
from typing import Iterator

from refinedweb.data.readers import ReaderConfig
from refinedweb.data.readers.ids import derived_id
from refinedweb.document import Document
from refinedweb.errors import FatalError
from refinedweb.io import open_binary
from refinedweb.stats import StepStats


def row_group_count(path: str) -> int:
    """Row groups in the file; 1 for a file that cannot be read, whose single unit then fails with the reason."""
    import pyarrow.parquet as pq

    try:
        with open_binary(path) as handle:
            return pq.ParquetFile(handle).num_row_groups
    except Exception:  # pyarrow raises several types for a corrupt footer; the unit reports it
        return 1


def read_parquet(
    path: str, config: ReaderConfig, stats: StepStats, start: int = 0, end: int | None = None
) -> Iterator[Document]:
    import pyarrow.parquet as pq

    with open_binary(path) as handle:
        try:
            parquet = pq.ParquetFile(handle)
        except Exception as exc:  # pyarrow raises several types for a corrupt footer
            raise FatalError(f"{path} is not a readable Parquet file: {exc}") from exc
        if config.text_key not in parquet.schema_arrow.names:
            raise FatalError(f"{path} has no column {config.text_key!r}; set reader.text_key to the text column")
        stop = parquet.num_row_groups if end is None else min(end, parquet.num_row_groups)
        row = sum(parquet.metadata.row_group(g).num_rows for g in range(start))
        for group in range(start, stop):
            for record in parquet.read_row_group(group).to_pylist():
                stats.total += 1
                text = record.get(config.text_key)
                if not isinstance(text, str) or not text.strip():
                    stats.drop("no_text")
                    row += 1
                    continue
                doc_id = record.get(config.id_key)
                metadata = record.get("metadata")
                if isinstance(metadata, str):  # our Parquet writer stores metadata as JSON text
                    try:
                        metadata = json.loads(metadata)
                    except json.JSONDecodeError:
                        metadata = {"metadata": metadata}
                if not isinstance(metadata, dict):
                    metadata = {}
                extra = {
                    k: v for k, v in record.items()
                    if k not in (config.text_key, config.id_key, config.url_key, "metadata") and v is not None
                }
                stats.kept += 1
                yield Document(
                    id=str(doc_id) if doc_id is not None else derived_id(path, row),
                    text=text,
                    url=str(record.get(config.url_key) or ""),
                    metadata={**extra, **metadata},
                )
                row += 1
