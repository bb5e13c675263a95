"""Instruction-tuning data: JSONL lines ``{"prompt": ..., "response": ...}`` (``instruction``/``output`` are
accepted as synonyms, the Alpaca field names), and the prompt format around them.

The prompt is rendered with the tokenizer's chat template when it has one (one user turn, then the generation
prompt), else with a plain default. Only the response tokens (and the end-of-sequence token after them) carry
loss: the model learns to answer, not to reproduce prompts.

A model tuned with the plain default is saved with ``SFT_CHAT_TEMPLATE`` as its tokenizer's chat template
(``attach_chat_template``): ``refinedweb serve`` and any ``apply_chat_template`` caller then prompt it in the layout
it was trained on, BOS token included, instead of a generic ``User:/Assistant:`` layout it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

from refinedweb.errors import ConfigError
from refinedweb.io import open_text_stream
from refinedweb.model.tasks.tabular import jsonl_rows

DEFAULT_TEMPLATE = "### Instruction:\n{prompt}\n\n### Response:\n"
SFT_CHAT_TEMPLATE = (
    "{% if bos_token %}{{ bos_token }}{% endif %}"
    "{% for m in messages %}"
    "{% if m['role'] in ('system', 'developer') %}{{ m['content'] }}\n\n"
    "{% elif m['role'] == 'user' %}### Instruction:\n{{ m['content'] }}\n\n### Response:\n"
    "{% else %}{{ m['content'] }}{{ eos_token }}\n\n{% endif %}"
    "{% endfor %}"
)
"""``DEFAULT_TEMPLATE`` as a chat template: one user turn renders exactly the text (and, through the BOS token's
text, the ids) ``encode_pair`` trains on. System messages come first as plain paragraphs; an assistant turn ends
with the EOS token, as trained. The user turn already ends with the response header, so the generation prompt adds
nothing."""
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


def attach_chat_template(tokenizer) -> bool:
    """Give a tokenizer without a chat template ``SFT_CHAT_TEMPLATE`` (saved with it by ``save_pretrained``);
    True when it was added. A tokenizer with its own template keeps it: training used that one."""
    if getattr(tokenizer, "chat_template", None):
        return False
    tokenizer.chat_template = SFT_CHAT_TEMPLATE
    return True


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
