"""The token shard format (version 1), documented for users in docs/shards.md.

A shard is three files with one stem:

- ``STEM.bin``: the tokens, little-endian ``uint16`` when the vocabulary has fewer than 65,536 entries, else
  ``uint32``. Each document's tokens are followed by one EOS token; there is no header (the sidecar is the header).
- ``STEM.idx``: little-endian ``uint64`` end offsets, one per document: document ``i`` is
  ``tokens[ends[i-1]:ends[i]]`` (with ``ends[-1] = 0``), its last token is the EOS.
- ``STEM.json``: the sidecar ``{"format": "refinedweb-shard", "version": 1, "dtype", "num_tokens",
  "num_documents", "eos_id", "tokenizer_sha256", "source"}``.

Like llm.c's ``.bin`` shards (a magic/version/dtype header, ``dev/data/data_common.py``) the files describe
themselves, but the header lives in the sidecar so the ``.bin`` can be memory-mapped as one flat array, and the
``.idx`` keeps document boundaries (which llm.c drops) for statistics and per-document evaluation.

Each file is written to a temporary name and renamed into place; the sidecar is written last, so a shard whose
sidecar exists is complete. Readers ignore ``.bin`` files without a sidecar.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from refinedweb.errors import ConfigError
from refinedweb.io import atomic_write, atomic_write_text

FORMAT = "refinedweb-shard"
VERSION = 1
_DTYPES = {"uint16": np.dtype("<u2"), "uint32": np.dtype("<u4")}


def token_dtype(vocab_size: int) -> str:
    """The smallest shard dtype that holds every id of a vocabulary of ``vocab_size`` tokens."""
    if vocab_size <= 0 or vocab_size > 2**32:
        raise ConfigError(f"a vocabulary of {vocab_size} tokens cannot be stored in uint16/uint32 shards")
    return "uint16" if vocab_size < 2**16 else "uint32"


@dataclasses.dataclass
class ShardMeta:
    """The sidecar of one shard."""

    dtype: str
    num_tokens: int
    num_documents: int
    eos_id: int
    tokenizer_sha256: str
    source: str  # the input file the documents came from

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> "ShardMeta":
        if data.get("format") != FORMAT:
            raise ConfigError(f"{where} is not a {FORMAT} sidecar (format={data.get('format')!r})")
        if data.get("version") != VERSION:
            raise ConfigError(
                f"{where} has shard format version {data.get('version')!r}; this refinedweb reads version {VERSION}:"
                " re-run `refinedweb tokenize` or upgrade refinedweb"
            )
        try:
            meta = cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})
        except KeyError as exc:
            raise ConfigError(f"{where} lacks the key {exc.args[0]!r}; re-run `refinedweb tokenize`") from None
        if meta.dtype not in _DTYPES:
            raise ConfigError(f"{where}: unknown dtype {meta.dtype!r}; expected one of {sorted(_DTYPES)}")
        return meta


@dataclasses.dataclass
class Shard:
    """An opened shard: ``tokens`` is a read-only memory map, ``ends`` the document end offsets."""

    stem: Path
    meta: ShardMeta
    tokens: np.ndarray
    ends: np.ndarray

    def document(self, i: int) -> np.ndarray:
        """The tokens of document ``i`` without its trailing EOS."""
        start = int(self.ends[i - 1]) if i > 0 else 0
        return self.tokens[start : int(self.ends[i]) - 1]


def list_shards(folder: str | Path) -> list[Path]:
    """The stems of the complete shards (those with a sidecar) in ``folder``, sorted by name."""
    return [p.with_name(p.name[: -len(".json")]) for p in sorted(Path(folder).glob("*.json"))]


def shard_file(stem: Path, suffix: str) -> Path:
    """``stem`` + ``suffix``. Not ``Path.with_suffix``: stems hold dots (``00000-part.jsonl-00000``)."""
    return stem.with_name(stem.name + suffix)


def open_shard(stem: str | Path) -> Shard:
    """Open the shard ``stem`` (a path without suffix, or its ``.json``/``.bin``), checking the files against the
    sidecar. A missing or truncated file is a ``ConfigError`` that says to re-run tokenization."""
    stem = Path(stem)
    if stem.suffix in (".json", ".bin", ".idx"):
        stem = stem.with_name(stem.stem)
    sidecar = shard_file(stem, ".json")
    try:
        meta = ShardMeta.from_dict(json.loads(sidecar.read_text(encoding="utf-8")), str(sidecar))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read shard sidecar {sidecar}: {exc}") from None
    dtype = _DTYPES[meta.dtype]
    tokens = _map(shard_file(stem, ".bin"), dtype, meta.num_tokens)
    ends = _map(shard_file(stem, ".idx"), np.dtype("<u8"), meta.num_documents)
    if meta.num_documents and int(ends[-1]) != meta.num_tokens:
        raise ConfigError(f"shard {stem}: the last document ends at {int(ends[-1])}, not at {meta.num_tokens}")
    return Shard(stem=stem, meta=meta, tokens=tokens, ends=ends)


def _map(path: Path, dtype: np.dtype, count: int) -> np.ndarray:
    expected = count * dtype.itemsize
    size = path.stat().st_size if path.exists() else -1
    if size != expected:
        raise ConfigError(
            f"shard file {path} has {size} bytes, its sidecar says {expected}; it is missing or truncated: "
            "delete the shard and re-run `refinedweb tokenize`"
        )
    if count == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(count,))


class ShardWriter:
    """Writes documents into shards ``{prefix}-00000``, ``{prefix}-00001``, ... in ``folder``, each holding at most
    ``max_tokens`` tokens (a single document longer than that gets a shard of its own; documents are never split).

    ``add`` takes a batch as one flat token array (every document already followed by EOS) and the per-document
    lengths including the EOS; the work per batch is a few numpy calls, never a loop over tokens. ``close`` finishes
    the last shard and returns the sidecars written. Nothing is written for a writer that received no document.
    """

    def __init__(self, folder: str | Path, prefix: str, template: ShardMeta, max_tokens: int):
        self.folder = Path(folder)
        self.prefix = prefix
        self.template = template
        self.max_tokens = max_tokens
        self.dtype = _DTYPES[template.dtype]
        self.written: list[ShardMeta] = []
        self._bin = None  # the open atomic_write context of the current .bin
        self._handle = None
        self._ends: list[np.ndarray] = []
        self._tokens = 0

    def add(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        tokens = np.asarray(tokens, dtype=self.dtype)
        ends = np.cumsum(lengths, dtype=np.int64)
        start = 0  # index of the first document of the batch not yet written
        while start < len(ends):
            base = int(ends[start - 1]) if start else 0
            room = self.max_tokens - self._tokens
            # how many of the remaining documents fit in the room left in the current shard
            fit = int(np.searchsorted(ends[start:] - base, room, side="right"))
            if fit == 0:
                if self._tokens:
                    self._finish()
                    continue
                fit = 1  # a document longer than a whole shard: it alone
            stop = start + fit
            self._write(tokens[base : int(ends[stop - 1])], ends[start:stop] - base)
            start = stop

    def close(self) -> list[ShardMeta]:
        if self._handle is not None:
            self._finish()
        return self.written

    def abort(self) -> None:
        """Drop the shard in progress (its temporary file is removed)."""
        if self._bin is not None:
            self._bin.__exit__(RuntimeError, RuntimeError("aborted"), None)
            self._bin = self._handle = None

    def _write(self, tokens: np.ndarray, local_ends: np.ndarray) -> None:
        if self._handle is None:
            self._bin = atomic_write(shard_file(self._stem(), ".bin"))
            self._handle = self._bin.__enter__()
        self._handle.write(tokens.tobytes())
        self._ends.append(local_ends + self._tokens)
        self._tokens += len(tokens)

    def _finish(self) -> None:
        stem = self._stem()
        self._bin.__exit__(None, None, None)
        self._bin = self._handle = None
        ends = np.concatenate(self._ends).astype("<u8")
        with atomic_write(shard_file(stem, ".idx")) as handle:
            handle.write(ends.tobytes())
        meta = dataclasses.replace(self.template, num_tokens=self._tokens, num_documents=len(ends))
        atomic_write_text(shard_file(stem, ".json"), json.dumps(meta.to_dict(), indent=2) + "\n")
        self.written.append(meta)
        self._ends, self._tokens = [], 0

    def _stem(self) -> Path:
        return self.folder / f"{self.prefix}-{len(self.written):05d}"
