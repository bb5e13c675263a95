"""``refinedweb generate --model DIR --prompt TEXT``: continue a prompt with a local causal LM, printing the text as
it is generated. The completion goes to stdout; the token count, speed and why it ended go to stderr."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a checkpoint folder (ours or any Hugging Face causal LM)")
    parser.add_argument("--prompt", required=True, help="the text to continue; '-' reads it from stdin")
    add_decoding_arguments(parser)
    parser.add_argument("--echo", action="store_true", help="print the prompt before the completion")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")


def add_decoding_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per ``GenerationParams`` field, with its default."""
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="most tokens to generate (default: 128, or what the model's context leaves)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); > 0 samples")
    parser.add_argument("--top-k", type=int, default=0, help="sample among the k most likely tokens (0 = all)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass in (0, 1] (1 = off)")
    parser.add_argument("--repetition-penalty", type=float, default=1.0, help="> 1 discourages repeats (1 = off)")
    parser.add_argument("--num-beams", type=int, default=1, help="beam search width (1 = off; needs temperature 0)")
    parser.add_argument("--seed", type=int, default=None, help="fix the sampling draws")
    parser.add_argument("--stop", action="append", default=[], metavar="S",
                        help="end before this string (repeatable; not included in the output)")


def params_from_args(args: argparse.Namespace):
    from refinedweb.model.generate import GenerationParams

    params = GenerationParams(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
        repetition_penalty=args.repetition_penalty, num_beams=args.num_beams, seed=args.seed, stop=list(args.stop),
    )
    params.validate()  # before loading the model: a typo costs nothing
    return params


def read_prompt(value: str) -> str:
    """The ``--prompt`` text (stdin for ``-``). Bytes that are not UTF-8 reach Python as lone surrogates, which the
    tokenizer rejects with a TypeError: refuse them here, by name."""
    from refinedweb.errors import ConfigError

    source = "stdin" if value == "-" else "--prompt"
    try:
        prompt = sys.stdin.read() if value == "-" else value
        prompt.encode("utf-8")
    except UnicodeError as exc:
        raise ConfigError(f"{source} is not valid UTF-8 text ({exc.reason} at character {exc.start}); convert it, "
                          "e.g. with iconv -t UTF-8") from None
    return prompt


def run(args: argparse.Namespace) -> int:
    import time

    from refinedweb.model.generate import Generator

    params = params_from_args(args)
    prompt = read_prompt(args.prompt)
    generator = Generator.load(args.model, device=args.device)
    if args.echo:
        sys.stdout.write(prompt)
    start = time.perf_counter()
    completion = None
    for _row, delta, done in generator.events([generator.encode(prompt)], params):
        sys.stdout.write(delta)
        sys.stdout.flush()
        completion = done or completion
    seconds = time.perf_counter() - start
    sys.stdout.write("\n")
    n = len(completion.token_ids)
    print(f"[{n} tokens in {seconds:.2f} s, {n / max(seconds, 1e-9):.1f} tokens/s; "
          f"finish_reason={completion.finish_reason}]", file=sys.stderr)
    return 0
