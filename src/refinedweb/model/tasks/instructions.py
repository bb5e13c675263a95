"""Instruction-tuning data: JSONL lines ``{"prompt": ..., "response": ...}`` (``instruction``/``output`` are
accepted as synonyms, the Alpaca field names), and the prompt format around them.

The prompt is rendered with the tokenizer's chat template when it has one (one user turn, then the generation
prompt), else with a plain default. Only the response tokens (and the end-of-sequence token after them) carry
loss: the model learns to answer, not to reproduce prompts.
"""

from __future__ import annotations

from dataclasses import dataclass

from refinedweb.errors import ConfigError
from refinedweb.io import open_text_stream
from refinedweb.model.tasks.tabular import jsonl_rows

DEFAULT_TEMPLATE = "### Instruction:\n{prompt}\n\n### Response:\n"
_SYNONYMS = {"prompt": ("prompt", "instruction"), "response": ("response", "output")}


@dataclass
class Pair:
    prompt: str
    response: str
    line: int = 0


def read_pairs(path: str) -> list[Pair]:
    pairs = []
    with open_text_stream(path) as handle:
        for number, row in jsonl_rows(handle, path):
            values = {}
            for key, names in _SYNONYMS.items():
                found = next((row[n] for n in names if isinstance(row.get(n), str)), None)
                if found is None:
                    raise ConfigError(f"{path}:{number}: needs a string field {' or '.join(names)!r}")
                values[key] = found
            pairs.append(Pair(values["prompt"], values["response"], number))
    if not pairs:
        raise ConfigError(f"{path} holds no prompt/response pairs; check the path (the split is empty)")
    return pairs


def render_prompt(tokenizer, prompt: str) -> str:
    """The text that precedes the response: the chat template's user turn + generation prompt, or the default."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    return DEFAULT_TEMPLATE.format(prompt=prompt)


def encode_pair(tokenizer, pair: Pair, max_length: int) -> dict:
    """Token ids and labels (-100 on the prompt) for one pair, truncated from the right to ``max_length``."""
    prompt_ids = tokenizer(render_prompt(tokenizer, pair.prompt), add_special_tokens=False)["input_ids"]
    if getattr(tokenizer, "bos_token_id", None) is not None and not getattr(tokenizer, "chat_template", None):
        prompt_ids = [tokenizer.bos_token_id] + prompt_ids
    response_ids = tokenizer(pair.response, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        response_ids = response_ids + [tokenizer.eos_token_id]
    ids = (prompt_ids + response_ids)[:max_length]
    labels = ([-100] * len(prompt_ids) + response_ids)[:max_length]
    return {"input_ids": ids, "labels": labels}
