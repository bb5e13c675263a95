"""Our decoding loop against transformers' ``generate`` on tiny local models, and its contract (stops, streaming,
seeds, validation)."""

import pytest
import torch

from refinedweb.errors import ConfigError
from refinedweb.model.generate import GenerationParams, Generator

from ._tiny_models import minilm, tiny_bert, tiny_llama  # noqa: F401  (fixtures)
from .conftest import byte_tokenizer

PROMPTS = ["the cat sat on the mat", "hello", "a much longer prompt about the history of the world"]


@pytest.fixture(scope="module")
def gen(tiny_llama):
    return Generator.load(tiny_llama)


@pytest.fixture(scope="module")
def byte_gen(tmp_path_factory):
    """Our own decoder (tiny preset) saved by our checkpoint code, with a byte-level tokenizer (EOS = 256): random
    weights emit arbitrary bytes, so UTF-8 characters are split across tokens all the time."""
    from refinedweb.model.checkpoint import save_model
    from refinedweb.model.config import preset
    from refinedweb.model.gpt import GPT

    folder = tmp_path_factory.mktemp("byte-gpt")
    byte_tokenizer().save(str(folder / "tokenizer.json"))
    cfg = preset("tiny", vocab_size=257)
    torch.manual_seed(0)
    save_model(GPT(cfg).state_dict(), cfg, folder / "model", tokenizer=folder / "tokenizer.json", eos_token_id=256)
    return Generator.load(folder / "model")


def _hf_batch(gen, prompts):
    gen.tokenizer.padding_side = "left"
    return gen.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False,
                         return_token_type_ids=False)


def _hf_new_tokens(gen, prompts, **kwargs):
    enc = _hf_batch(gen, prompts).to(gen.model.device)
    out = gen.model.generate(**enc, max_new_tokens=12, pad_token_id=gen.pad_token_id, **kwargs)
    return [row[enc.input_ids.shape[1]:].tolist() for row in out]


@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_equals_transformers_on_a_left_padded_batch(gen, use_cache):
    ours = gen.generate(PROMPTS, GenerationParams(max_new_tokens=12, use_cache=use_cache))
    theirs = _hf_new_tokens(gen, PROMPTS, do_sample=False)
    assert [c.token_ids for c in ours] == theirs
    assert all(c.finish_reason == "length" and len(c.token_ids) == 12 for c in ours)
    assert [c.prompt_tokens for c in ours] == [len(gen.encode(p)) for p in PROMPTS]
    # each row of the batch gives what it gives alone: the padding is invisible
    assert gen.generate(PROMPTS[1], GenerationParams(max_new_tokens=12))[0].token_ids == ours[1].token_ids


def test_repetition_penalty_equals_transformers(gen):
    ours = gen.generate(PROMPTS[0], GenerationParams(max_new_tokens=12, repetition_penalty=1.3))[0]
    assert ours.token_ids == _hf_new_tokens(gen, PROMPTS[:1], do_sample=False, repetition_penalty=1.3)[0]


@pytest.mark.parametrize("num_beams, use_cache", [(2, True), (4, True), (3, False)])
def test_beam_search_equals_transformers(gen, num_beams, use_cache):
    for prompt in PROMPTS[:2]:
        params = GenerationParams(max_new_tokens=12, num_beams=num_beams, use_cache=use_cache)
        ours = gen.generate(prompt, params)[0]
        assert ours.token_ids == _hf_new_tokens(gen, [prompt], do_sample=False, num_beams=num_beams)[0]


def test_beam_search_with_an_eos_that_ends_beams_equals_transformers(gen):
    """Make a token the beams pick early the EOS, so finished hypotheses and the early-stop rule are exercised."""
    prompt = PROMPTS[0]
    plain = gen.generate(prompt, GenerationParams(max_new_tokens=12, num_beams=3))[0].token_ids
    for eos in plain[1:4]:
        custom = Generator(gen.model, gen.tokenizer, eos_token_ids=[eos])
        ours = custom.generate(prompt, GenerationParams(max_new_tokens=12, num_beams=3))[0]
        theirs = _hf_new_tokens(gen, [prompt], do_sample=False, num_beams=3, eos_token_id=eos)[0]
        theirs = theirs[:theirs.index(eos) + 1] if eos in theirs else theirs  # HF pads after the EOS
        assert ours.token_ids == theirs


def test_eos_ends_a_row_and_is_not_in_the_text(gen):
    full = gen.generate(PROMPTS, GenerationParams(max_new_tokens=12))
    eos = full[0].token_ids[3]
    custom = Generator(gen.model, gen.tokenizer, eos_token_ids=[eos])
    out = custom.generate(PROMPTS, GenerationParams(max_new_tokens=12))
    first = full[0].token_ids.index(eos)
    assert out[0].token_ids == full[0].token_ids[:first + 1] and out[0].finish_reason == "stop"
    prompt_ids = gen.encode(PROMPTS[0])
    with_prompt = gen.tokenizer.decode(prompt_ids + full[0].token_ids[:first], skip_special_tokens=True)
    assert out[0].text == with_prompt[len(gen.tokenizer.decode(prompt_ids)):]  # " word ...": spaced as after the prompt
    for done, ref in zip(out[1:], full[1:]):  # the other rows go on unless they hit the same token
        cut = ref.token_ids.index(eos) + 1 if eos in ref.token_ids else len(ref.token_ids)
        assert done.token_ids == ref.token_ids[:cut]


def test_stop_strings_cut_exactly_before_the_first_match(gen):
    full = gen.generate(PROMPTS[0], GenerationParams(max_new_tokens=12))[0].text
    words = full.split()
    stop = words[3][:3]  # a piece of the fourth word
    expected = full[:full.index(stop)]
    params = GenerationParams(max_new_tokens=12, stop=["zzzz-never", stop])
    out = gen.generate(PROMPTS[0], params)[0]
    assert out.text == expected and out.finish_reason == "stop"
    assert "".join(gen.stream(PROMPTS[0], params)) == expected
    beam = gen.generate(PROMPTS[0], GenerationParams(max_new_tokens=12, num_beams=2, stop=[stop]))[0]
    assert stop not in beam.text


@pytest.mark.parametrize("params", [
    GenerationParams(max_new_tokens=40),
    GenerationParams(max_new_tokens=40, temperature=1.0, seed=3),
    GenerationParams(max_new_tokens=40, temperature=0.7, top_k=50, top_p=0.9, seed=4, stop=["\n", "e"]),
])
def test_stream_concatenates_to_the_text_and_never_splits_a_character(byte_gen, params):
    prompt = "Caf\u00e9 na\u00efve \u65e5\u672c: "
    text = byte_gen.generate(prompt, params)[0]
    deltas = list(byte_gen.stream(prompt, params))
    assert "".join(deltas) == text.text
    # a delta never ends inside a character (random bytes do give U+FFFD for invalid sequences, as decode does)
    assert all(not d.endswith("\ufffd") for d in deltas[:-1])
    if not params.stop:  # without stop strings the text is exactly what the tokenizer decodes
        ids = [t for t in text.token_ids if t != 256]
        assert text.text == byte_gen.tokenizer.decode(ids, skip_special_tokens=True)


def test_seed_fixes_sampling(gen):
    def sample(seed):
        return gen.generate(PROMPTS[:2], GenerationParams(max_new_tokens=8, temperature=1.0, seed=seed))

    assert [c.token_ids for c in sample(1)] == [c.token_ids for c in sample(1)]
    assert [c.token_ids for c in sample(1)] != [c.token_ids for c in sample(2)]


def test_a_tiny_temperature_is_greedy(gen):
    greedy = gen.generate(PROMPTS[0], GenerationParams(max_new_tokens=6))[0]
    assert gen.generate(PROMPTS[0], GenerationParams(max_new_tokens=6, temperature=1e-7))[0] == greedy


def test_default_budget_fits_the_context(gen, byte_gen):
    assert len(gen.generate("hello", GenerationParams(max_new_tokens=None))[0].token_ids) <= 128
    # the byte model's context is 128: a 100-byte prompt leaves 28 new tokens by default
    out = byte_gen.generate("x" * 100, GenerationParams(temperature=1.0, seed=0))[0]
    assert len(out.token_ids) <= 28


@pytest.mark.parametrize("fields, words", [
    ({"temperature": -0.1}, "temperature"),
    ({"top_p": 0.0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"top_k": -1}, "top_k"),
    ({"repetition_penalty": 0.0}, "repetition_penalty"),
    ({"num_beams": 0}, "num_beams"),
    ({"num_beams": 2, "temperature": 0.5}, "beam"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"stop": [""]}, "stop"),
    ({"temprature": 1.0}, "temprature"),
    ({"temperature": float("nan")}, "finite"),
    ({"temperature": 1e6}, "temperature"),
    ({"repetition_penalty": 1e300}, "repetition_penalty"),
    ({"seed": -1}, "seed"),
])
def test_invalid_params_raise_config_error(gen, fields, words):
    with pytest.raises(ConfigError, match=words):
        params = GenerationParams.from_dict(fields)
        gen.generate("hello", params)


def test_prompts_that_do_not_fit_raise_config_error(byte_gen):
    with pytest.raises(ConfigError, match="context"):
        byte_gen.generate("x" * 200)
    with pytest.raises(ConfigError, match="at most 28"):
        byte_gen.generate("x" * 100, GenerationParams(max_new_tokens=50))
    with pytest.raises(ConfigError, match="empty"):
        byte_gen.generate("")


def test_load_refuses_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(ConfigError, match="config.json"):
        Generator.load(tmp_path)


def test_load_refuses_an_encoder_a_folder_without_tokenizer_and_an_unknown_device(tiny_bert, tiny_llama, tmp_path):
    with pytest.raises(ConfigError, match="not hold a causal language model.*BertModel"):
        Generator.load(tiny_bert)  # transformers would give it a random LM head and generate noise
    (tmp_path / "config.json").write_bytes((tiny_llama / "config.json").read_bytes())
    with pytest.raises(ConfigError, match="no tokenizer files"):
        Generator.load(tmp_path)
    with pytest.raises(ConfigError, match="not a torch device"):
        Generator.load(tiny_llama, device="gpu0")


@pytest.mark.gpu
def test_greedy_and_beam_equal_transformers_on_cuda(tiny_llama):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    cuda = Generator.load(tiny_llama, device="cuda")
    ours = cuda.generate(PROMPTS, GenerationParams(max_new_tokens=12))
    assert [c.token_ids for c in ours] == _hf_new_tokens(cuda, PROMPTS, do_sample=False)
    beam = cuda.generate(PROMPTS[0], GenerationParams(max_new_tokens=12, num_beams=3))[0]
    assert beam.token_ids == _hf_new_tokens(cuda, PROMPTS[:1], do_sample=False, num_beams=3)[0]
    sampled = cuda.generate(PROMPTS, GenerationParams(max_new_tokens=12, temperature=1.0, seed=0))
    assert sampled == cuda.generate(PROMPTS, GenerationParams(max_new_tokens=12, temperature=1.0, seed=0))
