"""``refinedweb serve`` on a tiny local model, started on port 0 in a thread: OpenAI-shaped answers that match
``Generator.generate``, SSE streaming, 4xx errors for bad requests, and concurrency."""

import http.client
import json
import socket
import threading

import pytest

from refinedweb.model import api
from refinedweb.model.generate import GenerationParams, Generator
from refinedweb.model.serve import make_server

from ._tiny_models import minilm, tiny_llama  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def gen(tiny_llama):
    return Generator.load(tiny_llama)


@pytest.fixture(scope="module")
def server(gen):
    srv = make_server(gen, "tiny", port=0, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def request(server, method, path, body=None, raw=None):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    payload = resp.read().decode("utf-8")
    conn.close()
    return resp.status, resp.getheader("Content-Type"), payload


def post(server, path, body):
    status, _type, payload = request(server, "POST", path, body)
    return status, json.loads(payload)


def sse(payload):
    lines = [line for line in payload.split("\n\n") if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line[6:]) for line in lines[:-1]]


def test_models_and_health(server, gen):
    status, _type, payload = request(server, "GET", "/v1/models")
    assert status == 200 and json.loads(payload)["data"][0]["id"] == "tiny"
    assert json.loads(payload)["data"][0]["max_model_len"] == gen.context_length
    assert request(server, "GET", "/health")[0] == 200
    assert request(server, "GET", "/nowhere")[0] == 404


def test_completion_matches_generate(server, gen):
    status, out = post(server, "/v1/completions",
                       {"model": "tiny", "prompt": "the cat sat", "max_tokens": 10, "temperature": 0})
    expected = gen.generate("the cat sat", GenerationParams(max_new_tokens=10))[0]
    assert status == 200 and out["object"] == "text_completion"
    assert out["choices"][0]["text"] == expected.text and out["choices"][0]["finish_reason"] == "length"
    assert out["usage"] == {"prompt_tokens": expected.prompt_tokens, "completion_tokens": 10,
                            "total_tokens": expected.prompt_tokens + 10}


def test_batch_of_prompts_and_n_samples(server, gen):
    body = {"prompt": ["the cat", "a dog"], "max_tokens": 5, "n": 2, "temperature": 1.0, "seed": 3, "top_k": 50}
    status, out = post(server, "/v1/completions", body)
    assert status == 200 and [c["index"] for c in out["choices"]] == [0, 1, 2, 3]
    assert out["usage"]["completion_tokens"] == 20
    assert post(server, "/v1/completions", body)[1]["choices"] == out["choices"]  # the seed fixes the draws


def test_beam_and_penalty_extensions(server, gen):
    body = {"prompt": "the cat", "max_tokens": 6, "num_beams": 3, "repetition_penalty": 1.2}
    status, out = post(server, "/v1/completions", body)
    expected = gen.generate("the cat", GenerationParams(max_new_tokens=6, num_beams=3, repetition_penalty=1.2))[0]
    assert status == 200 and out["choices"][0]["text"] == expected.text


def test_chat_uses_the_default_template_and_matches_generate(server, gen):
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    status, out = post(server, "/v1/chat/completions", {"messages": messages, "max_tokens": 8, "temperature": 0})
    prompt, stop = api.chat_prompt(gen.tokenizer, messages)
    assert prompt == "be brief\n\nUser: hello there\nAssistant:" and stop == ["\nUser:"]
    expected = gen.generate(prompt, GenerationParams(max_new_tokens=8, stop=stop))[0]
    assert status == 200 and out["object"] == "chat.completion"
    assert out["choices"][0]["message"] == {"role": "assistant", "content": expected.text}


def test_chat_template_is_used_when_the_tokenizer_has_one(gen):
    class Templated:
        chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            from jinja2 import Template

            assert not tokenize and add_generation_prompt
            return Template(self.chat_template).render(messages=messages)

    prompt, stop = api.chat_prompt(Templated(), [{"role": "user", "content": "hi"}])
    assert prompt == "<user>hi<assistant>" and stop == []


@pytest.mark.parametrize("path, body", [
    ("/v1/completions", {"prompt": "the cat sat", "max_tokens": 12, "temperature": 0, "stop": ["zz"]}),
    ("/v1/completions", {"prompt": "the cat sat", "max_tokens": 12, "temperature": 0.8, "seed": 1, "n": 2,
                         "stream_options": {"include_usage": True}}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 12, "temperature": 0}),
])
def test_streaming_concatenates_to_the_same_text(server, path, body):
    _status, whole = post(server, path, {k: v for k, v in body.items() if k != "stream_options"})
    status, content_type, payload = request(server, "POST", path, {**body, "stream": True})
    assert status == 200 and content_type == "text/event-stream"
    chunks = sse(payload)
    texts = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            piece = choice["text"] if path == "/v1/completions" else choice["delta"].get("content", "")
            texts[choice["index"]] = texts.get(choice["index"], "") + piece
    for choice in whole["choices"]:
        text = choice["text"] if path == "/v1/completions" else choice["message"]["content"]
        assert texts[choice["index"]] == text
        reasons = [c["finish_reason"] for ch in chunks for c in ch["choices"] if c["index"] == choice["index"]]
        assert reasons[-1] == choice["finish_reason"] and all(r is None for r in reasons[:-1])
    if body.get("stream_options"):
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]


@pytest.mark.parametrize("raw, status, words", [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b'{"prompt": "caf\xe9"}', 400, "not valid JSON"),  # Latin-1, not UTF-8
    (b"[" * 100_000 + b"]" * 100_000, 400, "not valid JSON"),  # nesting deeper than the parser's recursion
    (b'{"prompt": "x", "max_tokens": ' + b"9" * 5000 + b"}", 400, "not valid JSON"),  # past Python's int limit
    (b'{"prompt": "a\\ud800b"}', 400, "not valid JSON"),  # a lone surrogate: JSON, but not text
    (json.dumps({"prompt": "x", "logprobs": 0}).encode(), 400, "not supported"),  # 0 asks for log-probs, unlike null
    (json.dumps({"prompt": "x", "n": -2}).encode(), 400, "n=-2"),
    (json.dumps({"prompt": ["a", 7]}).encode(), 400, "list of strings"),
    (json.dumps({"prompt": ["a", ""]}).encode(), 400, "empty"),
    (json.dumps({"prompt": "x", "stop": ["a", ""]}).encode(), 400, "stop"),
    (b'{"prompt": "x", "top_p": -Infinity}', 400, "finite"),
    (json.dumps({"prompt": "x", "temprature": 1}).encode(), 400, "unknown field 'temprature'"),
    (json.dumps({"prompt": 5}).encode(), 400, "'prompt' has the wrong type"),
    (json.dumps({"prompt": "x", "max_tokens": "9"}).encode(), 400, "'max_tokens' has the wrong type"),
    (json.dumps({"prompt": "x", "stream": 1}).encode(), 400, "'stream' has the wrong type"),
    (json.dumps({"prompt": "x", "temperature": -1}).encode(), 400, "temperature"),
    (json.dumps({"prompt": "x", "top_p": 1.5}).encode(), 400, "top_p"),
    (b'{"prompt": "x", "temperature": NaN}', 400, "finite"),
    (json.dumps({"prompt": "x", "seed": 2**70}).encode(), 400, "seed"),
    (json.dumps({"prompt": "x", "n": 0}).encode(), 400, "n=0"),
    (json.dumps({"prompt": "x", "n": 17}).encode(), 400, "exceeds 16"),
    (json.dumps({"prompt": "x", "stop": ["a"] * 17}).encode(), 400, "stop"),
    (json.dumps({"prompt": "x", "stop": "z" * 1025}).encode(), 400, "at most 1024 characters"),
    (json.dumps({"prompt": "x", "stream_options": {"include_usage": True}}).encode(), 400, "only allowed when stream"),
    (json.dumps({"prompt": "x", "frequency_penalty": 0.5}).encode(), 400, "not supported"),
    (json.dumps({"prompt": "x", "model": "/etc/passwd"}).encode(), 404, "not served here"),
    (json.dumps({"prompt": "word " * 300}).encode(), 400, "context"),
    (json.dumps({"prompt": "x", "max_tokens": 10_000}).encode(), 400, "at most"),
    (json.dumps({"prompt": ""}).encode(), 400, "empty"),
    (json.dumps({"max_tokens": 3}).encode(), 400, "'prompt' is required"),
])
def test_bad_completion_requests_get_openai_errors_and_the_server_goes_on(server, raw, status, words):
    got, _type, payload = request(server, "POST", "/v1/completions", raw=raw)
    error = json.loads(payload)["error"]
    assert got == status and words in error["message"] and error["type"]
    ok, _out = post(server, "/v1/completions", {"prompt": "still", "max_tokens": 2, "frequency_penalty": 0})
    assert ok == 200


@pytest.mark.parametrize("messages, words", [
    ([], "must not be empty"),
    ([{"role": "robot", "content": "x"}], "role"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": "file:///etc/passwd"}]}], "text parts"),
    ([{"role": "user", "content": None}], "content"),
])
def test_bad_chat_requests(server, messages, words):
    status, out = post(server, "/v1/chat/completions", {"messages": messages})
    assert status == 400 and words in out["error"]["message"]


def test_chat_stop_limit_counts_the_stop_the_default_format_adds(server):
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    status, out = post(server, "/v1/chat/completions", {**body, "stop": [f"s{i}" for i in range(16)]})
    assert status == 400 and out["error"]["param"] == "stop" and "at most 15" in out["error"]["message"]
    assert post(server, "/v1/chat/completions", {**body, "stop": [f"s{i}" for i in range(15)]})[0] == 200


def _exchange(server, data: bytes) -> tuple[bytes, bytes]:
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b" ")[1], body


@pytest.mark.parametrize("head, status", [
    (b"Content-Length: 999999999\r\n", b"413"),
    (b"", b"411"),
    (b"Transfer-Encoding: chunked\r\n", b"411"),
    (b"Content-Length: -1\r\n", b"400"),
])
def test_oversized_bodies_and_bad_lengths_are_refused(server, head, status):
    got, body = _exchange(server, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
    assert got == status and json.loads(body)["error"]["message"]
    assert post(server, "/v1/completions", {"prompt": "still", "max_tokens": 2})[0] == 200


def test_a_body_slower_than_the_read_timeout_gets_408(server, monkeypatch):
    from refinedweb.model.serve import Handler

    monkeypatch.setattr(Handler, "timeout", 0.5)
    status, body = _exchange(server, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    assert status == b"408" and "did not arrive" in json.loads(body)["error"]["message"]


@pytest.mark.parametrize("request_line, status", [
    (b"OPTIONS /v1/completions HTTP/1.1", b"501"),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1", b"414"),
])
def test_http_level_refusals_are_openai_errors_not_html(server, request_line, status):
    got, body = _exchange(server, request_line + b"\r\nHost: x\r\n\r\n")
    assert got == status and json.loads(body)["error"]["type"]


def test_concurrent_requests_all_succeed(server, gen):
    expected = gen.generate("the cat sat", GenerationParams(max_new_tokens=6))[0].text
    results = []

    def client(i):
        body = {"prompt": "the cat sat", "max_tokens": 6, "temperature": 0, "stream": i % 2 == 1}
        status, _type, payload = request(server, "POST", "/v1/completions", body)
        text = ("".join(c["choices"][0]["text"] for c in sse(payload) if c["choices"]) if i % 2
                else json.loads(payload)["choices"][0]["text"])
        results.append((status, text))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [(200, expected)] * 6


def test_a_client_leaving_mid_stream_frees_the_model(server):
    host, port = server.server_address[:2]
    body = json.dumps({"prompt": "the cat", "max_tokens": 200, "temperature": 0, "stream": True}).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert b"200" in sock.recv(100)
    status, out = post(server, "/v1/completions", {"prompt": "still", "max_tokens": 2})
    assert status == 200 and out["usage"]["completion_tokens"] == 2


def test_a_client_that_stops_reading_a_stream_is_dropped_not_an_internal_error(server, monkeypatch):
    """A write that times out (the client's buffers are full and it does not read) ends the request quietly."""
    from refinedweb.model.serve import Handler

    logged = []
    monkeypatch.setattr(Handler, "log_error", lambda self, fmt, *args: logged.append(fmt % args))

    def write_times_out(self, payload):
        raise TimeoutError("timed out")

    monkeypatch.setattr(Handler, "_event", write_times_out)
    host, port = server.server_address[:2]
    body = json.dumps({"prompt": "the cat", "max_tokens": 20, "temperature": 0, "stream": True}).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + str(len(body)).encode()
                     + b"\r\n\r\n" + body)
        while sock.recv(65536):
            pass
    monkeypatch.undo()
    assert logged == []
    assert post(server, "/v1/completions", {"prompt": "still", "max_tokens": 2})[0] == 200


def test_new_tokens_are_capped_when_the_config_gives_no_context_length(gen, monkeypatch):
    from refinedweb.errors import ConfigError
    from refinedweb.model.generate import MAX_NEW_TOKENS, Generator

    monkeypatch.setattr(Generator, "context_length", property(lambda self: None))
    assert gen.budget(3, GenerationParams(max_new_tokens=MAX_NEW_TOKENS)) == MAX_NEW_TOKENS
    with pytest.raises(ConfigError, match="no context length"):
        gen.budget(3, GenerationParams(max_new_tokens=MAX_NEW_TOKENS + 1))
