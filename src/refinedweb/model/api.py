"""The OpenAI wire format of ``refinedweb serve``: requests checked field by field into prompts and
``GenerationParams``, and the response and stream-chunk objects. No HTTP here (that is ``refinedweb.model.serve``).

What a request may hold (anything else is a 400 that names the field):

- both endpoints: ``model`` (must be the served name when given), ``max_tokens``, ``temperature`` (default 1, as in
  the OpenAI API; 0 is greedy), ``top_p``, ``n``, ``stop`` (a string or a list), ``stream``,
  ``stream_options.include_usage``, ``seed``, ``user``, and the extensions ``top_k``, ``repetition_penalty``,
  ``num_beams`` (as vLLM accepts them in ``extra_body``); OpenAI fields this server does not implement are accepted
  only at their neutral value (``frequency_penalty: 0``, ``logprobs: null``, ``echo: false``, ...);
- ``/v1/completions``: ``prompt``, a string or a list of strings;
- ``/v1/chat/completions``: ``messages`` (``role`` system/user/assistant/developer, ``content`` a string or text
  parts) and ``max_completion_tokens``. The tokenizer's chat template formats them when it has one; otherwise a
  plain ``User: ... / Assistant:`` layout (see ``chat_prompt``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from refinedweb.model.generate import MAX_STOP_CHARS, MAX_STOP_STRINGS, Completion, GenerationParams

MAX_CHOICES = 16  # prompts x n in one request: one batch on the model
_NUMBER = (int, float)
_FIELDS: dict[str, tuple] = {  # field -> accepted JSON types (None: null allowed)
    "model": (str,), "max_tokens": (int, None), "temperature": (_NUMBER, None), "top_p": (_NUMBER, None),
    "n": (int, None), "stop": (str, list, None), "stream": (bool, None), "stream_options": (dict, None),
    "seed": (int, None), "user": (str,), "top_k": (int, None), "repetition_penalty": (_NUMBER, None),
    "num_beams": (int, None),
}
_NEUTRAL = {  # OpenAI fields we do not implement: accepted only with the value that means "off"
    "frequency_penalty": (0,), "presence_penalty": (0,), "logprobs": (None, False), "top_logprobs": (None, 0),
    "echo": (False,), "best_of": (None, 1), "logit_bias": (None, {}), "suffix": (None,),
}
_ENDPOINT_FIELDS = {
    "completions": {"prompt": (str, list)},
    "chat": {"messages": (list,), "max_completion_tokens": (int, None)},
}
ROLES = ("system", "developer", "user", "assistant")
DEFAULT_CHAT_STOP = "\nUser:"  # with the default template, the model should not write the next user turn


class RequestError(Exception):
    """A request the server refuses; becomes an OpenAI error object with this HTTP status."""

    def __init__(self, message: str, param: str | None = None, status: int = 400,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.param, self.status, self.kind = param, status, kind

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": self.kind, "param": self.param, "code": None}}


def _type_ok(value: Any, accepted: tuple) -> bool:
    if value is None:
        return None in accepted
    if isinstance(value, bool):  # JSON true is not a number here
        return bool in accepted
    kinds = [k for a in accepted if a is not None for k in (a if isinstance(a, tuple) else (a,))]
    return isinstance(value, tuple(kinds))


def _same(value: Any, neutral: Any) -> bool:
    """Equal and of the same JSON kind: ``0`` is not ``false`` (``logprobs: 0`` asks for log-probabilities)."""
    return value == neutral and isinstance(value, bool) == isinstance(neutral, bool) and (value is None) == (
        neutral is None)


def check_fields(body: Any, endpoint: str, served_name: str) -> dict[str, Any]:
    """The request object with every field known, well typed and (for ``model``) naming this server's model."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    fields = {**_FIELDS, **_ENDPOINT_FIELDS[endpoint]}
    for key, value in body.items():
        if key in _NEUTRAL:
            if not any(_same(value, neutral) for neutral in _NEUTRAL[key]):
                raise RequestError(f"{key}={value!r} is not supported by this server; leave it out", key)
            continue
        if key not in fields:
            raise RequestError(f"unknown field {key!r}; valid fields: {', '.join(sorted(fields))}", key)
        if not _type_ok(value, fields[key]):
            raise RequestError(f"field {key!r} has the wrong type ({type(value).__name__})", key)
    required = "prompt" if endpoint == "completions" else "messages"
    if required not in body:
        raise RequestError(f"the field {required!r} is required", required)
    if body.get("model") not in (None, served_name):
        raise RequestError(f"model {body['model']!r} is not served here; this server serves {served_name!r}",
                           "model", status=404, kind="not_found_error")
    return body


def params_from(body: dict[str, Any]) -> tuple[GenerationParams, int]:
    """``GenerationParams`` and ``n`` from a checked request (ranges are checked by ``GenerationParams.validate``)."""
    stop = body.get("stop")
    stop = [] if stop is None else [stop] if isinstance(stop, str) else stop
    if len(stop) > MAX_STOP_STRINGS or not all(isinstance(s, str) and 0 < len(s) <= MAX_STOP_CHARS for s in stop):
        raise RequestError(f"stop must be a non-empty string of at most {MAX_STOP_CHARS} characters or a list of at "
                           f"most {MAX_STOP_STRINGS} of them", "stop")
    num_beams = _get(body, "num_beams", 1)
    temperature = _get(body, "temperature", 0.0 if num_beams > 1 else 1.0)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    params = GenerationParams(
        max_new_tokens=max_tokens, temperature=float(temperature), top_k=_get(body, "top_k", 0),
        top_p=float(_get(body, "top_p", 1.0)), repetition_penalty=float(_get(body, "repetition_penalty", 1.0)),
        num_beams=num_beams, seed=body.get("seed"), stop=list(stop),
    )
    n = _get(body, "n", 1)
    if n < 1:
        raise RequestError(f"n={n} must be at least 1", "n")
    return params, n


def _get(body: dict[str, Any], key: str, default: Any) -> Any:
    value = body.get(key)
    return default if value is None else value


def include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options") or {}
    if body.get("stream_options") is not None and not body.get("stream"):
        raise RequestError("stream_options is only allowed when stream is true", "stream_options")
    unknown = set(options) - {"include_usage"}
    if unknown or not isinstance(options.get("include_usage", False), bool):
        raise RequestError("stream_options accepts only include_usage (true or false)", "stream_options")
    return bool(options.get("include_usage"))


def completion_prompts(body: dict[str, Any]) -> list[str]:
    prompt = body["prompt"]
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not prompts or not all(isinstance(p, str) for p in prompts):
        raise RequestError("prompt must be a string or a non-empty list of strings", "prompt")
    return prompts


def chat_messages(body: dict[str, Any]) -> list[dict[str, str]]:
    """``messages`` as ``[{"role", "content": str}]``; text parts are joined, other parts refused."""
    messages = []
    for i, message in enumerate(body["messages"]):
        where = f"messages[{i}]"
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise RequestError(f"{where} must be an object with a role in {', '.join(ROLES)}", where)
        if set(message) - {"role", "content", "name"}:
            raise RequestError(f"{where} has unsupported keys {sorted(set(message) - {'role', 'content', 'name'})}",
                               where)
        content = message.get("content")
        if isinstance(content, list):
            if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                       for p in content):
                raise RequestError(f"{where}.content: only text parts are supported", where)
            content = "".join(p["text"] for p in content)
        if not isinstance(content, str):
            raise RequestError(f"{where}.content must be a string or a list of text parts", where)
        messages.append({"role": message["role"], "content": content})
    if not messages:
        raise RequestError("messages must not be empty", "messages")
    return messages


def chat_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[str]]:
    """The prompt text for ``messages`` and the stop strings it implies.

    With a chat template (``tokenizer.chat_template``) the template renders the conversation and appends the
    assistant's turn header. Without one (our pretrained checkpoints have none), the default is plain text: system
    and developer messages first, each followed by a blank line, then ``User: ...`` and ``Assistant: ...`` lines,
    ending with ``Assistant:``; generation stops before a new ``\\nUser:`` line."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True), []
    parts = []
    for m in messages:
        if m["role"] in ("system", "developer"):
            parts.append(f"{m['content']}\n\n")
        else:
            parts.append(f"{m['role'].capitalize()}: {m['content']}\n")
    return "".join(parts) + "Assistant:", [DEFAULT_CHAT_STOP]


# ---- responses ---------------------------------------------------------------------------------------------------

def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completions: list[Completion]) -> dict[str, int]:
    completion_tokens = sum(len(c.token_ids) for c in completions)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def envelope(rid: str, obj: str, model: str, choices: list[dict], **extra: Any) -> dict[str, Any]:
    return {"id": rid, "object": obj, "created": int(time.time()), "model": model, "choices": choices, **extra}


def choice(endpoint: str, index: int, text: str, finish_reason: str | None, stream: bool,
           first: bool = False) -> dict[str, Any]:
    """One entry of ``choices``: a whole answer, or (``stream``) a delta chunk's."""
    if endpoint == "completions":
        return {"index": index, "text": text, "logprobs": None, "finish_reason": finish_reason}
    if not stream:
        return {"index": index, "message": {"role": "assistant", "content": text}, "logprobs": None,
                "finish_reason": finish_reason}
    delta = {"role": "assistant", "content": text} if first else ({"content": text} if text else {})
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
