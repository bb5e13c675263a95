"""The fine-tuning configuration: one typed dataclass, filled from the command line or YAML."""

from __future__ import annotations

from dataclasses import dataclass, field

from refinedweb.config import Config
from refinedweb.errors import ConfigError

TASKS = ("cls", "ner", "sft")


@dataclass
class FinetuneConfig(Config):
    task: str = "cls"  # cls (sequence classification), ner (token classification) or sft (instruction tuning)
    model: str = ""  # our checkpoint or any local Hugging Face model folder
    train: str = ""  # training file (CoNLL for ner; TSV/CSV/JSONL text+label for cls; JSONL prompt/response for sft)
    validation: str | None = None  # file for early stopping and best-checkpoint selection
    test: str | None = None  # file scored once at the end with the best checkpoint
    output: str = ""  # results.json, predictions/, model/ (and adapter/ with LoRA) go here
    tokenizer: str | None = None  # tokenizer folder when the model folder has none
    text_column: str | None = None  # cls: text column (default: text/sentence/content/review)
    label_column: str = "label"  # cls: label column
    label_scheme: str = "auto"  # ner: tag scheme of the files (auto, iob1, iob2, bmes, iobes); converted to IOB2
    max_length: int = 256  # tokens per example (longer ones are truncated and counted)
    max_train_samples: int | None = None  # use the first N training examples
    max_eval_samples: int | None = None  # use the first N validation/test examples
    epochs: float = 3.0
    max_steps: int | None = None  # optimizer steps; overrides epochs
    batch_size: int = 32
    eval_batch_size: int = 64
    grad_accum: int = 1
    lr: float = 5e-5
    head_lr: float | None = None  # learning rate of the new task head (default: lr)
    weight_decay: float = 0.01  # not applied to biases and norm weights
    warmup_ratio: float = 0.1
    schedule: str = "linear"  # linear or cosine decay after warmup
    max_grad_norm: float | None = 1.0
    dropout: float | None = None  # override the model's hidden/attention/classifier dropout
    freeze_encoder: bool = False  # train only the task head
    freeze_layers: int = 0  # freeze the embeddings and the lowest N layers
    eval_every: int | None = None  # evaluate every N optimizer steps (default: once per epoch)
    early_stopping: int | None = None  # stop after N evaluations without improvement
    group_by_length: bool = True  # batch examples of similar length (less padding, same examples per epoch)
    seed: int = 42
    bf16: str = "auto"  # auto (on when CUDA supports it), on, off
    lora_r: int | None = None  # LoRA rank; None = full fine-tuning
    lora_alpha: float = 16.0
    lora_dropout: float = 0.1
    lora_targets: list[str] = field(default_factory=list)  # module names (default: attention projections)
    merge_lora: bool = True  # also write the merged full model to output/model
    teacher: str | None = None  # fine-tuned teacher for distillation (same task, labels and tokenizer)
    distill_alpha: float = 0.5  # loss = (1 - alpha) * task + alpha * T^2 * KL(teacher_T || student_T), per position
    temperature: float = 2.0
    # extra examples for distillation only (cls/ner): the teacher's soft labels are their only targets, gold labels
    # in the file (if any) are ignored; same format as --train, CoNLL may hold just the token column
    distill_data: str | None = None
    max_distill_samples: int | None = None  # use the first N examples of --distill-data
    replay: str | None = None  # token shards of pretraining data (sft only)
    replay_ratio: float = 0.1  # loss = (1 - r) * task + r * LM loss on a replay batch
    replay_seq_len: int = 256
    log_every: int = 20

    def validate(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"--task {self.task!r} is unknown; use one of {', '.join(TASKS)}")
        for key in ("model", "train", "output"):
            if not getattr(self, key):
                raise ConfigError(f"--{key} is required")
        if self.schedule not in ("linear", "cosine"):
            raise ConfigError(f"--schedule {self.schedule!r}: use linear or cosine")
        if self.bf16 not in ("auto", "on", "off"):
            raise ConfigError(f"--bf16 {self.bf16!r}: use auto, on or off")
        self.check_range("lr", 0, 1)
        self.check_range("warmup_ratio", 0, 1)
        self.check_range("distill_alpha", 0, 1)
        self.check_range("replay_ratio", 0, 1)
        self.check_range("dropout", 0, 1)
        self.check_range("temperature", 1e-3, None)
        for key in ("batch_size", "eval_batch_size", "grad_accum", "max_length", "lora_r", "max_steps"):
            self.check_range(key, 1, None)
        if self.distill_data and not self.teacher:
            raise ConfigError("--distill-data holds examples without targets of their own: it needs --teacher to "
                              "label them")
        if self.distill_data and self.task == "sft":
            raise ConfigError("--distill-data is for cls/ner (teacher outputs are cached per example); for sft, put "
                              "the extra pairs into --train")
        if self.replay and self.task != "sft":
            raise ConfigError("--replay mixes language-model batches in and needs a language-model head: use it with "
                              "--task sft (for cls/ner, a classifier head has no LM loss to replay)")
