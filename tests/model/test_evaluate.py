import json

import numpy as np
import pytest
import torch

from refinedweb.cli import main
from refinedweb.model.evaluate import evaluate_choice, loglikelihoods, perplexity

from ._tiny_models import DATA, minilm, tiny_llama  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def lm(tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_llama), AutoTokenizer.from_pretrained(tiny_llama)


def test_loglikelihood_is_the_sum_of_continuation_token_logprobs(lm):
    model, tokenizer = lm
    requests = [("The cat sat on the", " mat"), ("Question: why?\nAnswer:", " because it rained all day"),
                ("trailing space ", "moves"), ("", "no context at all")]
    got = loglikelihoods(model, tokenizer, requests, batch_size=3)
    for (context, continuation), (ll, greedy) in zip(requests, got):
        if context.endswith(" "):
            context, continuation = context[:-1], " " + continuation
        # the MiniLM tokenizer wraps text in [CLS] ... [SEP]: the BOS-like [CLS] stays, the trailing [SEP] goes
        ctx = tokenizer.encode(context)[:-1] if context else [tokenizer.bos_token_id]
        whole = tokenizer.encode(context + continuation)[:-1] if context else \
            ctx + tokenizer.encode(continuation, add_special_tokens=False)
        with torch.no_grad():
            logprobs = torch.log_softmax(model(input_ids=torch.tensor([whole])).logits[0].float(), -1)
        expected = sum(float(logprobs[i - 1, whole[i]]) for i in range(len(ctx), len(whole)))
        assert ll == pytest.approx(expected, abs=1e-4)
        assert isinstance(greedy, bool)
    assert [x[0] for x in loglikelihoods(model, tokenizer, requests, batch_size=1)] == pytest.approx([x[0] for x in got], abs=1e-4)


@pytest.mark.parametrize("task", ["arc_easy", "winogrande", "lambada", "hellaswag"])
def test_choice_scores(lm, task):
    scores = evaluate_choice(*lm, task, str(DATA / "eval"), num_fewshot=1 if task == "arc_easy" else 0)
    assert scores["n"] in (10, 12)
    assert 0 <= scores["acc"] <= 1
    assert ("perplexity" in scores) == (task == "lambada")


def test_perplexity_of_text_equals_perplexity_of_the_same_tokens_in_shards(lm, tmp_path):
    model, tokenizer = lm
    text = DATA / "wikitext_sample.txt"
    ids = tokenizer.encode(text.read_text(), add_special_tokens=False)
    np.asarray(ids, dtype=np.uint16).tofile(tmp_path / "s.bin")
    np.asarray([len(ids)], dtype=np.uint64).tofile(tmp_path / "s.idx")
    (tmp_path / "s.json").write_text(json.dumps({"dtype": "uint16", "eos_id": tokenizer.eos_token_id}))
    from_text = perplexity(model, tokenizer, str(text), max_length=128)
    from_shards = perplexity(model, tokenizer, str(tmp_path), max_length=128)
    assert from_text["tokens"] == from_shards["tokens"] == len(ids) - -(-len(ids) // 128)
    assert from_text["perplexity"] == pytest.approx(from_shards["perplexity"], rel=1e-5)
    assert from_text["perplexity"] > 1000  # a random model over a 30k vocabulary


def test_evaluate_cli(tiny_llama, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["evaluate", "--model", str(tiny_llama), "--tasks", f"copa,ppl:{DATA / 'wikitext_sample.txt'}",
                 "--data-dir", str(DATA / "eval"), "--output", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    assert results["copa"]["n"] == 12 and "acc_norm" in results["copa"]
    assert "copa" in capsys.readouterr().out
    assert main(["evaluate", "--model", str(tiny_llama), "--tasks", "mmlu"]) == 2
    assert main(["evaluate", "--model", str(tiny_llama), "--tasks", "ppl"]) == 2
