"""Loading backbones with a task head, freezing, dropout, LoRA, and saving/reloading fine-tuned models.

Heads are the ``transformers`` Auto classes, so any local Hugging Face folder works, encoders and decoders alike:
sequence classification (a linear layer over BERT's pooled [CLS] vector, or over a decoder's last non-pad token),
token classification (a linear layer over every token), causal LM (the model's own LM head). Our own checkpoints are
saved in the Llama layout and load the same way.

A fine-tuned output holds ``finetune.json`` (task, labels, base model) next to the weights, so ``load_finetuned``
rebuilds the same predictor from either a full model folder or a LoRA adapter folder. With LoRA the task head is
trained in full and saved with the adapter (``modules_to_save``): an adapter saved without its head reloads with a
fresh random head and predicts at random (peft issues #310, #577, #876, #1070).
"""

from __future__ import annotations

import json
from pathlib import Path

from refinedweb.errors import ConfigError, MissingDependencyError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "tokenizer.model", "vocab.json")
_DROPOUT_KEYS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout", "attention_dropout",
                 "hidden_dropout", "dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop")
META_FILE = "finetune.json"


def _transformers():
    try:
        import transformers
    except ImportError:
        raise MissingDependencyError("transformers", "train") from None
    transformers.logging.set_verbosity_error()  # the load report on a new head is expected, not news
    transformers.utils.logging.disable_progress_bar()
    return transformers


def check_model_dir(path: str, what: str = "--model") -> Path:
    folder = Path(path)
    if not folder.is_dir() or not ((folder / "config.json").exists() or (folder / "adapter_config.json").exists()):
        raise ConfigError(f"{what} {path}: not a model folder (no config.json); pass a folder saved by "
                          "`refinedweb pretrain`/`finetune` or a Hugging Face `save_pretrained` folder")
    return folder


def load_tokenizer(model_path: str, tokenizer_path: str | None = None):
    """The tokenizer from ``tokenizer_path`` or the model folder; a pad token is added from EOS/UNK when missing."""
    path = Path(tokenizer_path or model_path)
    if not any((path / name).exists() for name in TOKENIZER_FILES):
        raise ConfigError(
            f"{path}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); copy the tokenizer the model was trained "
            "with into the folder (tokenizer.save_pretrained(folder)) or pass --tokenizer FOLDER"
        )
    auto = _transformers().AutoTokenizer
    tokenizer = auto.from_pretrained(str(path), local_files_only=True)
    try:
        tokenizer(["a", "b"], is_split_into_words=True)
    except ValueError:
        # byte-level BPE tokenizers (GPT-2 style) refuse pre-split words unless words get their leading space back
        tokenizer = auto.from_pretrained(str(path), local_files_only=True, add_prefix_space=True)
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"{path}: the tokenizer has no fast (tokenizers) version, which word alignment needs; save "
                          "a tokenizer.json with it")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def _auto_class(task: str):
    t = _transformers()
    return {"cls": t.AutoModelForSequenceClassification, "ner": t.AutoModelForTokenClassification,
            "sft": t.AutoModelForCausalLM}[task]


def load_task_model(path: str, task: str, labels: list[str] | None, tokenizer, dropout: float | None = None):
    """A backbone with the head for ``task`` (``labels`` name the classes of cls/ner)."""
    check_model_dir(path)
    if (Path(path) / "adapter_config.json").exists():
        model, meta = load_finetuned(path)
        return model
    config = _transformers().AutoConfig.from_pretrained(path, local_files_only=True)
    if dropout is not None:
        for key in _DROPOUT_KEYS:
            if hasattr(config, key):
                setattr(config, key, dropout)
    if labels is not None:
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
    if getattr(config, "pad_token_id", None) is None:
        config.pad_token_id = tokenizer.pad_token_id
    model = _auto_class(task).from_pretrained(path, config=config, local_files_only=True,
                                              ignore_mismatched_sizes=labels is not None)
    return model


def freeze(model, encoder: bool, lower_layers: int) -> None:
    """Freeze the whole backbone (only the head trains) or its embeddings and lowest ``lower_layers`` layers."""
    base = model.base_model
    if encoder:
        for p in base.parameters():
            p.requires_grad = False
        return
    if lower_layers <= 0:
        return
    layers = _layer_list(model)
    if lower_layers > len(layers):
        raise ConfigError(f"--freeze-layers {lower_layers} but the model has {len(layers)} layers")
    embeddings = getattr(base, "embeddings", None) or model.get_input_embeddings()
    for module in [embeddings, *layers[:lower_layers]]:
        for p in module.parameters():
            p.requires_grad = False


def _layer_list(model):
    import torch

    count = getattr(model.config, "num_hidden_layers", None)
    for module in model.base_model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == count:
            return module
    raise ConfigError("cannot find the model's layer list to freeze; use --freeze-encoder instead")


def add_lora(model, task: str, r: int, alpha: float, dropout: float, targets: list[str]):
    """Wrap ``model`` with LoRA adapters; the task head is trained in full and saved with them."""
    try:
        import peft
    except ImportError:
        raise MissingDependencyError("peft", "train") from None
    task_type = {"cls": peft.TaskType.SEQ_CLS, "ner": peft.TaskType.TOKEN_CLS, "sft": peft.TaskType.CAUSAL_LM}[task]
    config = peft.LoraConfig(task_type=task_type, r=r, lora_alpha=alpha, lora_dropout=dropout,
                             target_modules=targets or None)
    try:
        return peft.get_peft_model(model, config)
    except ValueError as exc:
        raise ConfigError(f"LoRA: {exc}; name the linear layers to adapt with --lora-target NAME") from None


def save_finetuned(model, tokenizer, output: Path, meta: dict, merge: bool) -> dict[str, str]:
    """Write the model (``output/model``, always a plain transformers folder) and, for LoRA, the adapter with its head
    (``output/adapter``). Returns the folders written. Merging changes ``model`` in place, so call this last."""
    written = {}
    is_peft = hasattr(model, "peft_config")
    if is_peft:
        adapter = output / "adapter"
        model.save_pretrained(str(adapter))
        tokenizer.save_pretrained(str(adapter))
        (adapter / META_FILE).write_text(json.dumps({**meta, "lora": True}, indent=2))
        written["adapter"] = str(adapter)
        if not merge:
            return written
        model = model.merge_and_unload()
    folder = output / "model"
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    (folder / META_FILE).write_text(json.dumps({**meta, "lora": False}, indent=2))
    written["model"] = str(folder)
    return written


def read_meta(path: str) -> dict:
    """``finetune.json`` of a fine-tuned folder; for a plain HF folder, what its config tells (task from the head)."""
    meta_path = Path(path) / META_FILE
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    config = json.loads((Path(path) / "config.json").read_text())
    arch = " ".join(config.get("architectures") or [])
    task = "ner" if "TokenClassification" in arch else "cls" if "SequenceClassification" in arch else "sft"
    labels = None
    if task != "sft" and config.get("id2label"):
        labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    return {"task": task, "labels": labels}


def load_finetuned(path: str):
    """(model, meta) from a folder written by ``save_finetuned`` (full model or LoRA adapter) or any HF folder."""
    check_model_dir(path)
    meta = read_meta(path)
    folder = Path(path)
    if not (folder / "adapter_config.json").exists():
        return _auto_class(meta["task"]).from_pretrained(path, local_files_only=True), meta
    import peft

    adapter_config = json.loads((folder / "adapter_config.json").read_text())
    base_path = adapter_config.get("base_model_name_or_path")
    if not base_path or not Path(base_path).is_dir():
        raise ConfigError(f"{path}: the adapter's base model {base_path!r} is not a local folder; edit "
                          "base_model_name_or_path in adapter_config.json to point at it")
    tokenizer = load_tokenizer(path)
    base = load_task_model(base_path, meta["task"], meta.get("labels"), tokenizer)
    return peft.PeftModel.from_pretrained(base, path), meta
