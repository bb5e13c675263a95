"""``refinedweb generate`` on a tiny local model: the printed text is ``Generator.generate``'s, errors exit 2."""

import io

import pytest

from refinedweb.cli import main

from ..model._tiny_models import minilm, tiny_bert, tiny_llama  # noqa: F401  (fixtures)

pytest.importorskip("torch")


def test_generate_prints_the_greedy_completion(tiny_llama, capsys, monkeypatch):
    from refinedweb.model.generate import GenerationParams, Generator

    expected = Generator.load(tiny_llama).generate("the cat", GenerationParams(max_new_tokens=8))[0].text
    assert main(["generate", "--model", str(tiny_llama), "--prompt", "the cat", "--max-new-tokens", "8"]) == 0
    out = capsys.readouterr()
    assert out.out == expected + "\n"
    assert "8 tokens" in out.err and "finish_reason=length" in out.err
    monkeypatch.setattr("sys.stdin", io.StringIO("the cat"))
    assert main(["generate", "--model", str(tiny_llama), "--prompt", "-", "--max-new-tokens", "8", "--echo"]) == 0
    assert capsys.readouterr().out == "the cat" + expected + "\n"


def test_generate_stop_and_sampling_options(tiny_llama, capsys):
    args = ["generate", "--model", str(tiny_llama), "--prompt", "the cat", "--max-new-tokens", "8",
            "--temperature", "0.9", "--top-k", "20", "--top-p", "0.9", "--seed", "5", "--stop", "e"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and "e" not in first


@pytest.mark.parametrize("extra, words", [
    (["--top-p", "0"], "top_p"),
    (["--temperature", "-1"], "temperature"),
    (["--num-beams", "3", "--temperature", "1"], "beam"),
])
def test_bad_options_exit_2_with_a_message(tiny_llama, capsys, extra, words):
    assert main(["generate", "--model", str(tiny_llama), "--prompt", "x", *extra]) == 2
    assert words in capsys.readouterr().err


def test_a_folder_without_a_model_exits_2(tmp_path, capsys):
    assert main(["generate", "--model", str(tmp_path), "--prompt", "x"]) == 2
    assert "config.json" in capsys.readouterr().err


def test_an_encoder_folder_exits_2_naming_the_problem(tiny_bert, capsys):
    assert main(["generate", "--model", str(tiny_bert), "--prompt", "x"]) == 2
    assert "not hold a causal language model" in capsys.readouterr().err


def test_a_prompt_that_is_not_utf8_exits_2(tiny_llama, capsys, monkeypatch):
    # Python hands undecodable argv/stdin bytes over as lone surrogates; the tokenizer would raise a TypeError
    assert main(["generate", "--model", str(tiny_llama), "--prompt", "caf\udce9"]) == 2
    assert "--prompt is not valid UTF-8" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("caf\udce9"))
    assert main(["generate", "--model", str(tiny_llama), "--prompt", "-"]) == 2
    assert "stdin is not valid UTF-8" in capsys.readouterr().err
