"""``refinedweb serve --model DIR``: an OpenAI-compatible HTTP API (``/v1/completions``, ``/v1/chat/completions``,
``/v1/models``, ``/health``) over a local causal LM, until Ctrl-C. See docs/generate.md."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a checkpoint folder (ours or any Hugging Face causal LM)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine "
                        "only; 0.0.0.0 exposes it to the network)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    parser.add_argument("--model-name", default=None, help="name clients use in 'model' (default: the folder name)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--max-body-bytes", type=int, default=None, help="largest request body (default: 1 MiB)")


def run(args: argparse.Namespace) -> int:
    from refinedweb.errors import ConfigError
    from refinedweb.model.generate import Generator
    from refinedweb.model.serve import MAX_BODY_BYTES, make_server

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a TCP port; use 0-65535")
    if args.max_body_bytes is not None and args.max_body_bytes < 1:
        raise ConfigError(f"--max-body-bytes {args.max_body_bytes} must be at least 1 (default: {MAX_BODY_BYTES})")
    generator = Generator.load(args.model, device=args.device)
    name = args.model_name or Path(args.model).resolve().name
    server = make_server(generator, name, args.host, args.port, max_body=args.max_body_bytes or MAX_BODY_BYTES)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill PID` shuts down like Ctrl-C: the socket is closed cleanly
    print(f"serving {name!r} on {server.url}/v1 (context {generator.context_length} tokens); Ctrl-C stops",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
