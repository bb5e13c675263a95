"""``refinedweb serve``: an OpenAI-compatible HTTP API over one ``Generator``, on the standard library's
``ThreadingHTTPServer`` (the ``serve`` extra needs nothing beyond ``train``).

Endpoints: ``GET /health``, ``GET /v1/models``, ``POST /v1/completions``, ``POST /v1/chat/completions``; with
``"stream": true`` the answer is Server-Sent Events, one ``data: {json}`` chunk per text delta, ending with
``data: [DONE]`` (the format of the OpenAI API, vLLM and ``transformers serve``). Request fields are in
``refinedweb.model.api``.

Robustness: each connection has its own thread, but one lock lets a single request use the model at a time (the
others wait, up to ``queue_timeout`` seconds, then get 503). Every request is checked before the model runs: body
size (413; 411 without Content-Length), a body slower than ``READ_TIMEOUT_S`` (408), JSON that is UTF-8 text within
Python's nesting and integer limits (400), field names and types (400), parameter ranges and prompt length against the
model's context (400, via ``Generator.check``). http.server's own refusals (unknown method, bad request line) are
OpenAI error objects too. Errors are OpenAI error objects; an unexpected exception becomes a 500 for that
request only. The server never opens a path a client names: ``model`` is only compared with the served name.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

from refinedweb.errors import ConfigError
from refinedweb.model import api
from refinedweb.model.api import RequestError
from refinedweb.model.generate import MAX_STOP_STRINGS, Completion, Generator

MAX_BODY_BYTES = 1 << 20  # 1 MiB: far more than any prompt that fits a context; stops memory abuse
READ_TIMEOUT_S = 30  # a client that sends its body, or reads the answer, slower than this is dropped
# A client that left, or stopped reading for READ_TIMEOUT_S (a write times out): stop, nothing to answer or log.
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, TimeoutError)


class ModelServer(ThreadingHTTPServer):
    """The HTTP server and what its handlers share: the generator, its lock, the limits."""

    daemon_threads = True  # a stuck client never blocks shutdown

    def __init__(self, address: tuple[str, int], generator: Generator, model_name: str,
                 max_body: int = MAX_BODY_BYTES, queue_timeout: float = 600.0, quiet: bool = False):
        super().__init__(address, Handler)
        self.generator, self.model_name = generator, model_name
        self.max_body, self.queue_timeout, self.quiet = max_body, queue_timeout, quiet
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    server: ModelServer
    timeout = READ_TIMEOUT_S
    server_version = "refinedweb"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        if not self.server.quiet:
            super().log_message(format, *args)

    # ---- routing ------------------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/health":
            self._send_json(200, {"status": "ok"})
        elif self.path == "/v1/models":
            model = {"id": self.server.model_name, "object": "model", "created": 0, "owned_by": "refinedweb",
                     "max_model_len": self.server.generator.context_length}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_error(RequestError(f"no route GET {self.path}", status=404, kind="not_found_error"))

    def do_POST(self) -> None:  # noqa: N802
        endpoint = {"/v1/completions": "completions", "/v1/chat/completions": "chat"}.get(self.path)
        try:
            if endpoint is None:
                raise RequestError(f"no route POST {self.path}", status=404, kind="not_found_error")
            body = api.check_fields(self._read_json(), endpoint, self.server.model_name)
            self._answer(endpoint, body)
        except RequestError as exc:
            self._send_error(exc)
        except CLIENT_GONE:
            pass  # the client left; nothing to answer
        except Exception as exc:  # noqa: BLE001 (one request fails, the server goes on)
            self.log_error("internal error on %s: %r", self.path, exc)
            self._send_error(RequestError(f"internal error: {type(exc).__name__}", status=500, kind="server_error"))

    def do_PUT(self) -> None:  # noqa: N802
        self._send_error(RequestError(f"method PUT not allowed on {self.path}", status=405))

    do_DELETE = do_PATCH = do_PUT

    # ---- requests -----------------------------------------------------------------------------------------------

    def _read_json(self) -> Any:
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError("a Content-Length header is required (chunked bodies are not accepted)", status=411)
        if not length.isdigit():
            raise RequestError(f"Content-Length {length!r} is not a byte count")
        if int(length) > self.server.max_body:
            raise RequestError(f"request body of {length} bytes exceeds the limit of {self.server.max_body}",
                               status=413)
        try:
            raw = self.rfile.read(int(length))
        except TimeoutError:
            raise RequestError(f"the request body did not arrive within {self.timeout} s", status=408) from None
        try:
            body = json.loads(raw.decode("utf-8"))
            # A lone surrogate ("\ud800") is valid JSON but not text: the tokenizer would fail on it later.
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except (UnicodeError, ValueError, RecursionError) as exc:
            # ValueError: bad JSON, or an integer of more than 4,300 digits; RecursionError: nesting too deep.
            raise RequestError(f"the request body is not valid JSON text: {exc}") from None
        return body

    def _answer(self, endpoint: str, body: dict[str, Any]) -> None:
        gen = self.server.generator
        params, n = api.params_from(body)
        with_usage = api.include_usage(body)
        if endpoint == "completions":
            prompts = api.completion_prompts(body)
        else:
            prompt, implied_stop = api.chat_prompt(gen.tokenizer, api.chat_messages(body))
            prompts, params.stop = [prompt], params.stop + [s for s in implied_stop if s not in params.stop]
            if len(params.stop) > MAX_STOP_STRINGS:  # name the user's field, not the sum with the implied stop
                raise RequestError(f"stop: at most {MAX_STOP_STRINGS - len(implied_stop)} strings with this "
                                   f"model's chat format, which adds {implied_stop!r}", "stop")
        if len(prompts) * n > api.MAX_CHOICES:
            raise RequestError(f"prompts x n = {len(prompts) * n} exceeds {api.MAX_CHOICES} choices per request", "n")
        prompt_ids = [gen.encode(p) for p in prompts]
        try:
            gen.check(prompt_ids, params)  # all validation before any output, so errors are clean 400s
        except ConfigError as exc:
            raise RequestError(str(exc)) from None
        rows = [ids for ids in prompt_ids for _ in range(n)]  # choice i*n + j: prompt i, sample j
        prompt_tokens = sum(len(ids) for ids in prompt_ids)
        rid = api.new_id("cmpl" if endpoint == "completions" else "chatcmpl")
        obj = "text_completion" if endpoint == "completions" else "chat.completion"
        if not self.server.lock.acquire(timeout=self.server.queue_timeout):
            raise RequestError("the model is busy; retry later", status=503, kind="server_error")
        try:
            if body.get("stream"):
                events = gen.events(rows, params)
                self._stream(endpoint, rid, obj, events, len(rows), prompt_tokens, with_usage)
            else:
                done = gen.generate_ids(rows, params)
                choices = [api.choice(endpoint, i, c.text, c.finish_reason, False) for i, c in enumerate(done)]
                self._send_json(200, api.envelope(rid, obj, self.server.model_name, choices,
                                                  usage=api.usage(prompt_tokens, done)))
        finally:
            self.server.lock.release()

    def _stream(self, endpoint: str, rid: str, obj: str, events: Iterator, n_rows: int, prompt_tokens: int,
                with_usage: bool) -> None:
        obj = obj + ".chunk" if endpoint == "chat" else obj
        model = self.server.model_name
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if endpoint == "chat":  # the role comes first, as OpenAI sends it
            for i in range(n_rows):
                self._event(api.envelope(rid, obj, model, [api.choice(endpoint, i, "", None, True, first=True)]))
        done: list[Completion] = []
        try:
            for row, delta, completion in events:
                reason = completion.finish_reason if completion else None
                if completion:
                    done.append(completion)
                if delta or reason:
                    self._event(api.envelope(rid, obj, model, [api.choice(endpoint, row, delta, reason, True)]))
        except CLIENT_GONE:
            events.close()  # stop generating for a client that left
            raise
        except Exception as exc:  # noqa: BLE001 (headers are sent: report in the stream, then end it)
            self.log_error("internal error while streaming: %r", exc)
            self._event(RequestError(f"internal error: {type(exc).__name__}", status=500, kind="server_error").body())
        if with_usage:
            self._event(api.envelope(rid, obj, model, [], usage=api.usage(prompt_tokens, done)))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    # ---- responses ----------------------------------------------------------------------------------------------

    def _event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n")
        self.wfile.flush()

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has headers only
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (unknown method, bad request line, URI or headers too long) as OpenAI error
        objects instead of its HTML page."""
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        kind = "not_found_error" if code == 404 else "server_error" if code >= 500 else "invalid_request_error"
        self._send_error(RequestError(message or HTTPStatus(code).phrase, status=code, kind=kind))

    def _send_error(self, error: RequestError) -> None:
        try:
            self._send_json(error.status, error.body())
        except CLIENT_GONE:
            pass


def make_server(generator: Generator, model_name: str, host: str = "127.0.0.1", port: int = 8000,
                max_body: int = MAX_BODY_BYTES, queue_timeout: float = 600.0, quiet: bool = False) -> ModelServer:
    """A bound, not yet running server (``serve_forever()`` runs it; port 0 picks a free port)."""
    try:
        return ModelServer((host, port), generator, model_name, max_body, queue_timeout, quiet)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None
