"""Text generation from any local causal LM folder (our checkpoints or any Hugging Face causal LM).

``Generator.load(path)`` loads the model with ``transformers`` and its tokenizer; the decoding loop is ours:

- the prompt is run once (prefill) and only the new token is fed after that, with the model's KV cache
  (``past_key_values``); ``use_cache=False`` re-runs the whole sequence each step (slow; kept for checking);
- prompts of a batch are left-padded, with an attention mask and position ids that ignore the padding, so each row
  gives the tokens it would give alone;
- greedy (``temperature=0``, the default), sampling (``temperature > 0``, with ``top_k`` / ``top_p``), repetition
  penalty, and beam search (``num_beams > 1``, in ``refinedweb.model.beam``); the choice of a token follows Hugging
  Face ``generate`` (``refinedweb.model.sampling``), so greedy and beam outputs are the same token for token;
- a row stops at an end-of-sequence token, at a stop string (cut before it, as in the OpenAI API) or after
  ``max_new_tokens``;
- ``seed`` fixes the draws (a generator per call, not the global RNG);
- ``stream`` yields text deltas as tokens arrive, never splitting a character (``refinedweb.model.detokenize``); the
  text of ``generate`` is the same concatenation.

A ``Generator`` is not thread-safe; ``refinedweb.model.serve`` puts one lock around it.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from pathlib import Path
from typing import Any, Iterator

from refinedweb.config import Config
from refinedweb.errors import ConfigError

DEFAULT_MAX_NEW_TOKENS = 128  # HF's default of 20 cuts most answers short; unbounded loops are worse (litgpt #2145)
MAX_STOP_STRINGS = 16
MAX_STOP_CHARS = 1024  # each stop string is compared with the text's tail after every token
MAX_NEW_TOKENS = 65_536  # the cap when the model's config gives no context length to bound a request by
MAX_BEAMS = 64
GREEDY_BELOW = 1e-5  # a temperature this small means greedy (vLLM's rule): dividing by it overflows


@dataclasses.dataclass
class GenerationParams(Config):
    """How to decode. The defaults give deterministic greedy output of at most 128 new tokens."""

    max_new_tokens: int | None = None  # None: 128, or what the context leaves when that is less
    temperature: float = 0.0  # 0 (or < 1e-5): greedy (argmax); > 0: sample from softmax(logits / temperature)
    top_k: int = 0  # sample among the k most likely tokens only (0: all)
    top_p: float = 1.0  # sample among the most likely tokens holding this much probability (1: all)
    repetition_penalty: float = 1.0  # > 1 discourages tokens already in prompt or output (1: off)
    num_beams: int = 1  # > 1: beam search (deterministic; needs temperature 0)
    seed: int | None = None  # fixes sampling; None: a fresh random seed each call
    stop: list[str] = dataclasses.field(default_factory=list)  # end a completion before any of these strings
    use_cache: bool = True  # feed only the new token with the KV cache; False re-runs the sequence (for checks)

    def validate(self) -> None:
        for key in ("temperature", "top_p", "repetition_penalty"):
            if not math.isfinite(getattr(self, key)):  # NaN passes every range check; JSON can carry NaN
                raise ConfigError(f"GenerationParams.{key}={getattr(self, key)!r} must be a finite number")
        self.check_range("max_new_tokens", 1, None)
        # Above 100, logits / temperature is uniform noise and logit * penalty overflows to -inf: both are mistakes.
        self.check_range("temperature", 0.0, 100.0)
        self.check_range("repetition_penalty", None, 100.0)
        self.check_range("top_k", 0, None)
        self.check_range("num_beams", 1, MAX_BEAMS)
        self.check_range("seed", 0, 2**63 - 1)
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"GenerationParams.top_p={self.top_p!r} is out of range; use a value in (0, 1]")
        if not self.repetition_penalty > 0.0:
            raise ConfigError(
                f"GenerationParams.repetition_penalty={self.repetition_penalty!r} must be > 0 (1 turns it off)"
            )
        if self.num_beams > 1 and self.temperature > 0:
            raise ConfigError("beam search (num_beams > 1) is deterministic: set temperature=0, or num_beams=1 to sample")
        if len(self.stop) > MAX_STOP_STRINGS or not all(isinstance(s, str) and s for s in self.stop):
            raise ConfigError(f"GenerationParams.stop must hold at most {MAX_STOP_STRINGS} non-empty strings")
        if any(len(s) > MAX_STOP_CHARS for s in self.stop):
            raise ConfigError(f"GenerationParams.stop strings must be at most {MAX_STOP_CHARS} characters long")


@dataclasses.dataclass
class Completion:
    """One generated continuation. ``token_ids`` are the new tokens (with the end-of-sequence token when it was
    generated); ``finish_reason`` is "stop" (end-of-sequence or a stop string) or "length" (max_new_tokens)."""

    text: str
    token_ids: list[int]
    finish_reason: str
    prompt_tokens: int


class Generator:
    """A causal LM and its tokenizer, ready to generate."""

    def __init__(self, model: Any, tokenizer: Any, eos_token_ids: list[int] | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        if eos_token_ids is None:
            eos = getattr(model.generation_config, "eos_token_id", None)
            eos = tokenizer.eos_token_id if eos is None else eos
            eos_token_ids = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
        self.eos_token_ids = list(eos_token_ids)
        pad = tokenizer.pad_token_id
        self.pad_token_id = pad if pad is not None else (self.eos_token_ids or [0])[0]
        forward = inspect.signature(model.forward).parameters
        self._takes_positions = "position_ids" in forward
        self._takes_logits_to_keep = "logits_to_keep" in forward

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "Generator":
        """Load a local model folder (``config.json``, weights, tokenizer files); nothing is downloaded. ConfigError
        when the folder, its tokenizer, the kind of model or the device is not usable."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        from transformers.utils import logging as hf_logging

        from refinedweb.model.finetune.models import TOKENIZER_FILES, check_model_dir

        folder = check_model_dir(str(path))
        if not any((folder / name).exists() for name in TOKENIZER_FILES):
            raise ConfigError(f"--model {path}: no tokenizer files ({', '.join(TOKENIZER_FILES)}); save the tokenizer "
                              "the model was trained with into the folder (tokenizer.save_pretrained(folder))")
        try:
            torch_device = torch.device(device)
        except RuntimeError:
            raise ConfigError(f"--device {device!r} is not a torch device; use cpu, cuda or cuda:N") from None
        if torch_device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: torch sees no CUDA device; use --device cpu")
        hf_logging.disable_progress_bar()
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model, info = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, output_loading_info=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load a causal LM and its tokenizer from {folder}: {exc}") from None
        # transformers maps an encoder folder (BERT) to a causal-LM class too, with a fresh random LM head, and would
        # generate noise: refuse a saved architecture that is not a causal LM, and weights the folder lacks.
        saved, missing = model.config.architectures or [], sorted(info["missing_keys"])
        not_causal = bool(saved) and not set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values()).intersection(saved)
        if not_causal or missing:
            why = [f"its config.json names {', '.join(saved)}"] if not_causal else []
            why += [f"it lacks {len(missing)} weights of the LM ({missing[0]}, ...)"] if missing else []
            raise ConfigError(f"--model {path} does not hold a causal language model ({'; '.join(why)}); pass a "
                              "decoder checkpoint, such as one written by `refinedweb pretrain` or a *ForCausalLM folder")
        return cls(model.to(torch_device), tokenizer)

    @property
    def context_length(self) -> int | None:
        """Longest sequence (prompt + completion) the model takes, from its config; None when it does not say."""
        config = self.model.config
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            if isinstance(getattr(config, key, None), int):
                return getattr(config, key)
        return None

    def encode(self, prompt: str) -> list[int]:
        """Prompt text -> ids, with the BOS token in front when the tokenizer is configured to add one."""
        ids = self.tokenizer.encode(prompt, add_special_tokens=False)
        bos = self.tokenizer.bos_token_id
        if getattr(self.tokenizer, "add_bos_token", False) and bos is not None and ids[:1] != [bos]:
            ids = [bos] + ids
        return ids

    def budget(self, prompt_len: int, params: GenerationParams) -> int:
        """How many new tokens to allow; ConfigError when the prompt or the request does not fit the context."""
        if prompt_len == 0:
            raise ConfigError("the prompt is empty; give at least one token of text")
        limit = self.context_length
        if limit is not None and prompt_len >= limit:
            raise ConfigError(f"the prompt has {prompt_len} tokens but the model's context is {limit}; shorten it")
        if params.max_new_tokens is None:
            return DEFAULT_MAX_NEW_TOKENS if limit is None else min(DEFAULT_MAX_NEW_TOKENS, limit - prompt_len)
        if limit is None and params.max_new_tokens > MAX_NEW_TOKENS:
            raise ConfigError(f"{params.max_new_tokens} new tokens requested; the model's config gives no context "
                              f"length, so at most {MAX_NEW_TOKENS} are allowed")
        if limit is not None and prompt_len + params.max_new_tokens > limit:
            raise ConfigError(
                f"the prompt ({prompt_len} tokens) plus {params.max_new_tokens} requested new tokens exceeds the "
                f"model's context of {limit} tokens; ask for at most {limit - prompt_len} new tokens"
            )
        return params.max_new_tokens

    def check(self, prompt_ids: list[list[int]], params: GenerationParams) -> int:
        """Validate a request without running the model: ConfigError when a parameter is out of range or a prompt
        does not fit; otherwise the number of new tokens every row may have."""
        params.validate()
        if not prompt_ids:
            raise ConfigError("no prompt given")
        return min(self.budget(len(ids), params) for ids in prompt_ids)

    # ---- public entry points ------------------------------------------------------------------------------------

    def generate(self, prompts: str | list[str], params: GenerationParams | None = None) -> list[Completion]:
        """One ``Completion`` per prompt (a list even for one prompt)."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        return self.generate_ids([self.encode(p) for p in prompts], params or GenerationParams())

    def stream(self, prompt: str, params: GenerationParams | None = None) -> Iterator[str]:
        """Text deltas of one completion as its tokens arrive ("".join gives ``generate``'s text)."""
        for _row, delta, _done in self.events([self.encode(prompt)], params or GenerationParams()):
            if delta:
                yield delta

    def generate_ids(self, prompt_ids: list[list[int]], params: GenerationParams) -> list[Completion]:
        done: dict[int, Completion] = {}
        for row, _delta, completion in self.events(prompt_ids, params):
            if completion is not None:
                done[row] = completion
        return [done[i] for i in range(len(prompt_ids))]

    def events(
        self, prompt_ids: list[list[int]], params: GenerationParams
    ) -> Iterator[tuple[int, str, Completion | None]]:
        """``(row, text delta, Completion or None)`` as decoding goes; each row ends with one event that carries its
        ``Completion``. Validates everything before the first forward pass."""
        import torch

        from refinedweb.model.detokenize import TextStream

        max_new = self.check(prompt_ids, params)
        if params.num_beams > 1:
            yield from self._beam_events(prompt_ids, params, max_new)
            return
        streams = [TextStream(self.tokenizer, ids, params.stop) for ids in prompt_ids]
        tokens: list[list[int]] = [[] for _ in prompt_ids]
        finished = torch.zeros(len(prompt_ids), dtype=torch.bool)
        for step, next_tokens in enumerate(self._token_steps(prompt_ids, params, finished, max_new)):
            for row, token in enumerate(next_tokens.tolist()):
                if finished[row]:
                    continue
                tokens[row].append(token)
                eos = token in self.eos_token_ids
                delta = "" if eos else streams[row].push(token)
                last = eos or streams[row].stopped or step + 1 == max_new
                if last:
                    finished[row] = True
                    delta += streams[row].finish()
                    reason = "length" if not (eos or streams[row].stopped) else "stop"
                    yield row, delta, Completion(streams[row].text, tokens[row], reason, len(prompt_ids[row]))
                elif delta:
                    yield row, delta, None

    # ---- decoding -----------------------------------------------------------------------------------------------

    def left_pad(self, prompt_ids: list[list[int]]):
        """(B, T) ids and attention mask, shorter prompts padded on the left."""
        import torch

        width = max(len(ids) for ids in prompt_ids)
        ids = torch.full((len(prompt_ids), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(prompt_ids), width), dtype=torch.long)
        for row, prompt in enumerate(prompt_ids):
            ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt):] = 1
        device = self.model.device
        return ids.to(device), mask.to(device)

    def step(self, ids, mask, positions, past, use_cache: bool):
        """Next-token logits (B, V) for ``ids`` (B, T), every token so far, and the updated cache. With the cache
        only the tokens it has not seen are fed (the whole prompt at the first step, then one token)."""
        if not use_cache:
            return self.forward(ids, mask, positions, None, False)
        seen = 0 if past is None else past.get_seq_length()
        return self.forward(ids[:, seen:], mask, positions, past, True)

    def forward(self, ids, mask, positions, past, use_cache: bool):
        """Last-position logits (B, V) in float32 and the updated cache. With a cache, ``ids`` are only the tokens
        the cache has not seen."""
        kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "use_cache": use_cache}
        if self._takes_positions:
            kwargs["position_ids"] = positions[:, -ids.shape[1]:]
        if self._takes_logits_to_keep:
            kwargs["logits_to_keep"] = 1  # the head only on the last position: the prefill skips a (B, T, V) matmul
        if past is not None:
            kwargs["past_key_values"] = past
        out = self.model(**kwargs)
        return out.logits[:, -1, :].float(), (out.past_key_values if use_cache else None)

    def _token_steps(self, prompt_ids, params: GenerationParams, finished, max_new: int):
        """Yield (B,) next tokens, up to ``max_new`` times; stops early once the caller marks every row in
        ``finished`` (B,) bool. Finished rows are fed the pad token (their output is ignored)."""
        import torch

        from refinedweb.model.sampling import choose_next, repetition_penalty

        ids, mask = self.left_pad(prompt_ids)
        device = ids.device
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        temperature = params.temperature if params.temperature >= GREEDY_BELOW else 0.0
        generator = None
        if temperature > 0:
            generator = torch.Generator(device=device)
            if params.seed is None:
                generator.seed()  # a fresh random seed
            else:
                generator.manual_seed(params.seed)
        seen = self._seen_tokens(ids, mask) if params.repetition_penalty != 1.0 else None
        rows = torch.arange(ids.shape[0], device=device)
        past = None
        with torch.inference_mode():
            for _ in range(max_new):
                logits, past = self.step(ids, mask, positions, past, params.use_cache)
                if seen is not None:
                    logits = repetition_penalty(logits, seen, params.repetition_penalty)
                next_tokens = choose_next(logits, temperature, params.top_k, params.top_p, generator)
                next_tokens = next_tokens.masked_fill(finished.to(device), self.pad_token_id)
                yield next_tokens
                if bool(finished.all()):
                    return
                if seen is not None:
                    seen[rows, next_tokens] = True
                ids = torch.cat([ids, next_tokens[:, None]], dim=1)
                mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
                positions = torch.cat([positions, positions[:, -1:] + 1], dim=1)

    def _seen_tokens(self, ids, mask):
        """(B, V) bool: which tokens each prompt holds (padding left out), for the repetition penalty."""
        import torch

        counts = torch.zeros((ids.shape[0], self.model.config.vocab_size), dtype=torch.long, device=ids.device)
        counts.scatter_add_(1, ids, mask)
        return counts > 0

    def _beam_events(self, prompt_ids, params: GenerationParams, max_new: int):
        from refinedweb.model.beam import beam_search
        from refinedweb.model.detokenize import TextStream

        for row, prompt in enumerate(prompt_ids):
            tokens, hit_eos = beam_search(self, prompt, params, max_new)
            stream = TextStream(self.tokenizer, prompt, params.stop)
            text_ids = tokens[:-1] if hit_eos else tokens
            for token in text_ids:
                stream.push(token)
            stream.finish()
            reason = "stop" if hit_eos or stream.stopped else "length"
            yield row, stream.text, Completion(stream.text, tokens, reason, len(prompt))
