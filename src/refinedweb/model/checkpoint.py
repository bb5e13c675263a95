"""Checkpoints in the Hugging Face Llama layout, plus the training state for exact resume.

A checkpoint directory holds:

- ``config.json``: a ``LlamaConfig`` (see ``GPTConfig.to_hf_config``);
- ``model.safetensors``: our ``state_dict`` with ``model.`` in front of every name except ``lm_head``; a tied head is
  left out, as ``transformers`` does, because safetensors cannot store one tensor under two names;
- tokenizer files when a tokenizer was given (``tokenizer.json`` and a ``tokenizer_config.json``), so
  ``AutoTokenizer.from_pretrained(dir)`` works too;
- ``trainer_state.pt`` (training checkpoints only): optimizer, step, loader position and RNG states.

``transformers.AutoModelForCausalLM.from_pretrained(dir)`` loads the first three; ``load_gpt(dir)`` loads them into
our ``GPT``.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import torch

from refinedweb.errors import ConfigError
from refinedweb.io import atomic_write, atomic_write_text
from refinedweb.model.config import GPTConfig
from refinedweb.model.gpt import GPT

WEIGHTS = "model.safetensors"
TRAINER_STATE = "trainer_state.pt"


def hf_state_dict(state: dict[str, torch.Tensor], tied: bool) -> dict[str, torch.Tensor]:
    """Our parameter names -> Llama names (``layers.0...`` -> ``model.layers.0...``)."""
    out = {}
    for name, tensor in state.items():
        if name == "lm_head.weight":
            if not tied:
                out[name] = tensor
        else:
            out[f"model.{name}"] = tensor
    return {k: v.detach().contiguous().cpu() for k, v in out.items()}


def save_model(
    state: dict[str, torch.Tensor],
    cfg: GPTConfig,
    directory: str | Path,
    tokenizer: str | Path | None = None,
    eos_token_id: int | None = None,
) -> Path:
    """Write ``config.json``, ``model.safetensors`` and the tokenizer files into ``directory``."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = hf_state_dict(state, cfg.tie_embeddings)
    tmp = directory / f".{WEIGHTS}.tmp"  # save_file needs a path, so write beside it and rename (atomic)
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    tmp.replace(directory / WEIGHTS)
    hf = cfg.to_hf_config(bos_token_id=eos_token_id, eos_token_id=eos_token_id)
    atomic_write_text(directory / "config.json", json.dumps(hf, indent=2) + "\n")
    if tokenizer is not None:
        copy_tokenizer(tokenizer, directory, eos_token_id)
    return directory


def copy_tokenizer(source: str | Path, directory: Path, eos_token_id: int | None) -> None:
    """Copy ``tokenizer.json`` (a file, or the one inside a directory) and its config next to the weights."""
    source = Path(source)
    tokenizer_json = source / "tokenizer.json" if source.is_dir() else source
    if not tokenizer_json.is_file():
        raise ConfigError(f"tokenizer {source} has no tokenizer.json; pass the file or the folder that holds it")
    shutil.copyfile(tokenizer_json, directory / "tokenizer.json")
    for extra in ("tokenizer_config.json", "special_tokens_map.json"):
        if (tokenizer_json.parent / extra).is_file():
            shutil.copyfile(tokenizer_json.parent / extra, directory / extra)
    if not (directory / "tokenizer_config.json").exists():
        tok_config: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast"}
        eos = _token_for_id(tokenizer_json, eos_token_id)
        if eos is not None:
            tok_config.update(eos_token=eos, bos_token=eos)
        atomic_write_text(directory / "tokenizer_config.json", json.dumps(tok_config, indent=2) + "\n")


def _token_for_id(tokenizer_json: Path, token_id: int | None) -> str | None:
    if token_id is None:
        return None
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(tokenizer_json)).id_to_token(token_id)


def load_gpt(directory: str | Path, map_location: str = "cpu") -> GPT:
    """Our ``GPT`` from a checkpoint directory written by ``save_model`` (or any default-rope Llama checkpoint)."""
    from safetensors.torch import load_file

    directory = Path(directory)
    config_path, weights_path = directory / "config.json", directory / WEIGHTS
    for path in (config_path, weights_path):
        if not path.is_file():
            raise ConfigError(f"{path} not found; is {directory} a checkpoint folder written by `refinedweb pretrain`?")
    cfg = GPTConfig.from_hf_config(json.loads(config_path.read_text(encoding="utf-8")))
    tensors = load_file(str(weights_path), device=map_location)
    state = {name.removeprefix("model."): t for name, t in tensors.items()}
    if cfg.tie_embeddings:
        state["lm_head.weight"] = state["embed_tokens.weight"]
    model = GPT(cfg)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ConfigError(f"{weights_path} does not match its config.json: missing {missing}, unexpected {unexpected}")
    return model


def save_trainer_state(directory: str | Path, state: dict[str, Any]) -> None:
    with atomic_write(Path(directory) / TRAINER_STATE) as handle:
        torch.save(state, handle)


def load_trainer_state(directory: str | Path) -> dict[str, Any]:
    # weights_only=False: the state holds numpy RNG tuples and loader dicts, and it is a file we wrote ourselves.
    return torch.load(Path(directory) / TRAINER_STATE, map_location="cpu", weights_only=False)


def latest_checkpoint(output: str | Path) -> Path | None:
    """The newest ``checkpoints/step-N`` under ``output`` that has a trainer state, or None."""
    root = Path(output) / "checkpoints"
    if not root.is_dir():
        return None
    steps = [p for p in root.glob("step-*") if (p / TRAINER_STATE).is_file() and (p / WEIGHTS).is_file()]
    return max(steps, key=lambda p: int(p.name.split("-")[1]), default=None)


def rng_state() -> dict[str, Any]:
    """Python, numpy, torch (and CUDA) RNG states, for exact resume."""
    import numpy as np

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
