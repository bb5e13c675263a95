"""Tokenizer folders on disk.

We write the Hugging Face layout so ``transformers.AutoTokenizer.from_pretrained(DIR)`` loads our tokenizers:
``tokenizer.json`` (the ``tokenizers`` serialization), ``tokenizer_config.json`` (class and special-token roles)
and ``special_tokens_map.json``. We read a ``tokenizer.json`` file, a folder holding one (ours or a downloaded
Hugging Face tokenizer), or, with ``transformers`` installed, any local Hugging Face folder with a fast tokenizer.

The EOS token, which separates documents in shards, comes from an explicit argument, else from
``tokenizer_config.json`` / ``special_tokens_map.json`` beside the ``tokenizer.json``. We never guess it.

``sha256`` identifies the tokenizer in shard sidecars: the SHA-256 of the ``tokenizer.json`` bytes, so
``sha256sum DIR/tokenizer.json`` checks it; for a folder converted by ``transformers`` it is the hash of the
serialization we would write.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from refinedweb.errors import ConfigError, MissingDependencyError
from refinedweb.io import atomic_write_text

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"
SPECIAL_MAP_FILE = "special_tokens_map.json"


@dataclasses.dataclass
class LoadedTokenizer:
    """A ``tokenizers.Tokenizer`` with what shards need to know about it."""

    tokenizer: Any  # tokenizers.Tokenizer
    json_text: str  # the tokenizer.json text; ``sha256`` is the hash of its UTF-8 bytes
    roles: dict[str, str]  # {"eos_token": ..., "bos_token": ...} as configured
    eos_id: int
    source: str  # the path it was loaded from

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.json_text.encode("utf-8")).hexdigest()

    @property
    def eos_token(self) -> str:
        return self.roles["eos_token"]

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)


def save_tokenizer(json_text: str, roles: dict[str, str], output: str | Path) -> Path:
    """Write a tokenizer (its ``tokenizer.json`` text, e.g. ``Tokenizer.to_str(pretty=True)``) to the folder
    ``output`` in the Hugging Face layout; ``roles`` maps ``eos_token`` etc. to token strings. The text is written
    unchanged, so the hash of a copied tokenizer stays the same. Returns the path of ``tokenizer.json``."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / TOKENIZER_FILE, json_text)
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **roles,
        # A byte-level tokenizer has no length limit of its own; the model decides it.
        "model_max_length": 1_000_000_000,
        # Keep decode(encode(text)) == text: no space clean-up, no BOS/EOS added implicitly.
        "clean_up_tokenization_spaces": False,
        "add_bos_token": False,
        "add_eos_token": False,
    }
    atomic_write_text(output / CONFIG_FILE, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(output / SPECIAL_MAP_FILE, json.dumps(roles, indent=2, ensure_ascii=False) + "\n")
    return output / TOKENIZER_FILE


def load_tokenizer(path: str | Path, eos_token: str | None = None) -> LoadedTokenizer:
    """Load a tokenizer from a ``tokenizer.json`` file or a local folder (see the module docstring).

    Raises ``ConfigError`` naming the path and the fix when it does not exist, cannot be read, or has no EOS.
    """
    from tokenizers import Tokenizer

    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"tokenizer {path} does not exist; pass a folder written by `refinedweb tokenizer train`, "
            "a tokenizer.json file or a local Hugging Face tokenizer folder"
        )
    folder = path if path.is_dir() else path.parent
    file = path / TOKENIZER_FILE if path.is_dir() else path
    if file.is_file():
        try:
            json_text = file.read_bytes().decode("utf-8")  # bytes as on disk: the hash matches sha256sum
            tokenizer = Tokenizer.from_str(json_text)
        except Exception as exc:  # tokenizers raises a bare Exception on a malformed file
            raise ConfigError(f"cannot read tokenizer {file}: {exc}; is it a Hugging Face tokenizer.json?") from None
    else:
        tokenizer = _convert_with_transformers(folder)
        json_text = tokenizer.to_str(pretty=True)
    roles = configured_roles(folder)
    if eos_token:
        roles["eos_token"] = eos_token
    eos = roles.get("eos_token")
    if not eos:
        raise ConfigError(
            f"tokenizer {path} does not name an EOS token (no eos_token in {CONFIG_FILE} or {SPECIAL_MAP_FILE}); "
            "pass --eos-token TOKEN"
        )
    eos_id = tokenizer.token_to_id(eos)
    if eos_id is None:
        raise ConfigError(f"EOS token {eos!r} is not in the vocabulary of tokenizer {path}; pass --eos-token TOKEN")
    return LoadedTokenizer(tokenizer=tokenizer, json_text=json_text, roles=roles, eos_id=eos_id, source=str(path))


def configured_roles(folder: Path) -> dict[str, str]:
    """The special-token roles (``bos_token``, ``eos_token``, ``pad_token``, ``unk_token``) named in the Hugging
    Face config files of ``folder``; ``tokenizer_config.json`` wins over ``special_tokens_map.json``."""
    roles: dict[str, str] = {}
    for name in (SPECIAL_MAP_FILE, CONFIG_FILE):
        file = folder / name
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file} is not valid JSON ({exc}); fix or delete it") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{file} must hold a JSON object; fix or delete it")
        for role in ("bos_token", "eos_token", "pad_token", "unk_token"):
            value = data.get(role)
            if isinstance(value, dict):  # the AddedToken form: {"content": "</s>", ...}
                value = value.get("content")
            if isinstance(value, str) and value:
                roles[role] = value
    return roles


def _convert_with_transformers(folder: Path) -> Any:
    """A folder without tokenizer.json (e.g. GPT-2's vocab.json + merges.txt): let transformers build the fast one."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise MissingDependencyError("transformers", "train") from None
    try:
        hf = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:  # transformers raises many types (OSError, ValueError, KeyError) for a bad folder
        raise ConfigError(f"cannot load a tokenizer from folder {folder}: {exc}") from None
    backend = getattr(hf, "backend_tokenizer", None)
    if backend is None:
        raise ConfigError(f"{folder} holds a slow (Python) tokenizer; only fast tokenizers can write shards")
    return backend
