"""The incremental detokenizer on real tokenizers: whole characters only, spacing as in a full decode, stop strings
cut and held back."""

from refinedweb.model.detokenize import TextStream

from ._tiny_models import minilm  # noqa: F401  (fixture)
from .conftest import byte_tokenizer

TEXT = "Caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001f600 end"


def _deltas(tokenizer, prompt_ids, ids, stop=()):
    stream = TextStream(tokenizer, prompt_ids, stop)
    deltas = [stream.push(t) for t in ids]
    return deltas + [stream.finish()], stream


def test_multibyte_characters_are_never_split():
    tok = byte_tokenizer()
    ids = tok.encode(TEXT).ids
    assert len(ids) > len(TEXT)  # some characters take several byte tokens
    deltas, stream = _deltas(tok, tok.encode("x").ids, ids)
    assert "".join(deltas) == TEXT == stream.text
    assert all("\ufffd" not in d for d in deltas)
    assert [d for d in deltas if d][:6] == ["C", "a", "f", "\u00e9", " ", "n"]


def test_a_completion_cut_mid_character_ends_like_decode():
    tok = byte_tokenizer()
    ids = tok.encode(TEXT).ids[:4]  # "Caf" and the first byte of "é"
    deltas, _ = _deltas(tok, [], ids)
    assert "".join(deltas) == tok.decode(ids) == "Caf\ufffd"


def test_wordpiece_spacing_matches_a_full_decode(minilm):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(minilm)
    prompt = tok.encode("the weather", add_special_tokens=False)
    ids = tok.encode("is unbelievably sunny, isn't it?", add_special_tokens=False)
    deltas, _ = _deltas(tok, prompt, ids)
    full, head = tok.decode(prompt + ids), tok.decode(prompt)
    assert "".join(deltas) == full[len(head):]


def test_stop_strings_are_cut_and_held_back():
    tok = byte_tokenizer()
    ids = tok.encode("one two. three").ids
    deltas, stream = _deltas(tok, [], ids, stop=[". t", "zz"])
    assert "".join(deltas) == "one two" == stream.text and stream.stopped
    # "." alone could start the stop string: it is never shown before the stop is confirmed
    assert all("." not in d for d in deltas)
    deltas, stream = _deltas(tok, [], tok.encode("a.b").ids, stop=[". t"])
    assert "".join(deltas) == "a.b" and not stream.stopped

