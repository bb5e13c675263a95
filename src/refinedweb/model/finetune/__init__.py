"""Fine-tuning: classification (cls), token classification (ner) and instruction tuning (sft), full or LoRA, with
optional distillation from a teacher and replay of pretraining data.

- ``config``: ``FinetuneConfig``, every option with its one-line meaning.
- ``data``: splits, label set, encoding, length-grouped batches.
- ``models``: loading a backbone with a task head, freezing, LoRA, saving and reloading.
- ``losses``: task, distillation and replay terms.
- ``predict``: predictions and scores on a split.
- ``train``: ``finetune(config)``, the loop and the outputs.
"""

from refinedweb.model.finetune.config import FinetuneConfig

__all__ = ["FinetuneConfig", "finetune"]


def finetune(config: FinetuneConfig, log=print) -> dict:
    from refinedweb.model.finetune.train import finetune as run

    return run(config, log)
