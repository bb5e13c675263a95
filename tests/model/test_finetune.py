import json
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from refinedweb.cli import main
from refinedweb.model.finetune.losses import distill_loss_sum, task_loss_sum
from refinedweb.model.tasks.metrics import ner_scores

from ._tiny_models import DATA, minilm, tiny_bert, tiny_llama, write_shard  # noqa: F401  (fixtures)

FAST = ["--epochs", "3", "--batch-size", "16", "--lr", "3e-3", "--warmup-ratio", "0", "--seed", "0", "--log-every", "1000"]


def _ner(model, out, *extra):
    return main(["finetune", "--task", "ner", "--model", str(model), "--train", str(DATA / "conll_train.txt"),
                 "--validation", str(DATA / "conll_dev.txt"), "--test", str(DATA / "conll_dev.txt"),
                 "--output", str(out), "--max-train-samples", "96", *FAST, *extra])


def _results(out):
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def ner_run(tiny_bert, tmp_path_factory):
    out = tmp_path_factory.mktemp("ner")
    assert _ner(tiny_bert, out) == 0
    return out


def _falls(history, ratio=0.8):
    losses = [h["task"] for h in history]
    return np.mean(losses[-3:]) < ratio * np.mean(losses[:3])


def test_ner_writes_the_documented_outputs(ner_run):
    results = _results(ner_run)
    assert _falls(results["train"]["history"])
    test = results["test"]
    assert set(test) >= {"precision", "recall", "f1", "per_type"}
    assert set(test["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    records = [json.loads(line) for line in (ner_run / "predictions" / "test.jsonl").read_text().splitlines()]
    assert len(records) == 100 and all(len(r["tokens"]) == len(r["gold"]) == len(r["predicted"]) for r in records)
    # the reported score is the score of the written predictions
    assert test["f1"] == pytest.approx(ner_scores([r["gold"] for r in records], [r["predicted"] for r in records])["f1"])
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(ner_run / "model")
    assert model.config.id2label[0] == "O" and model.config.num_labels == 9


def test_cls_on_sst2_sample(tiny_bert, tmp_path):
    code = main(["finetune", "--task", "cls", "--model", str(tiny_bert), "--train", str(DATA / "sst2_train.tsv"),
                 "--validation", str(DATA / "sst2_dev.tsv"), "--test", str(DATA / "sst2_dev.tsv"),
                 "--output", str(tmp_path), *FAST, "--epochs", "12", "--max-train-samples", "64", "--dropout", "0"])
    assert code == 0
    results = _results(tmp_path)
    assert _falls(results["train"]["history"])
    assert {"accuracy", "macro_f1", "confusion_matrix"} <= set(results["test"])
    assert sum(map(sum, results["test"]["confusion_matrix"])) == 100


def test_lora_adapter_reloads_with_identical_predictions(tiny_bert, tmp_path):
    from refinedweb.model.evaluate import evaluate_finetuned

    assert _ner(tiny_bert, tmp_path, "--lora-r", "4", "--lora-target", "query", "--lora-target", "value") == 0
    results = _results(tmp_path)
    assert results["train"]["trainable_params"] < results["train"]["total_params"]
    saved = [json.loads(line)["predicted"] for line in (tmp_path / "predictions" / "test.jsonl").read_text().splitlines()]
    for folder in ("adapter", "model"):  # the adapter with its head, and the merged export
        scores, records = evaluate_finetuned(str(tmp_path / folder), "ner", str(DATA / "conll_dev.txt"))
        assert [r["predicted"] for r in records] == saved
        assert scores["f1"] == pytest.approx(results["test"]["f1"])


def test_grad_accumulation_matches_a_full_batch(tiny_bert, tmp_path):
    common = ["--dropout", "0", "--no-group-by-length", "--max-steps", "3"]
    assert _ner(tiny_bert, tmp_path / "a", *common, "--batch-size", "8") == 0
    assert _ner(tiny_bert, tmp_path / "b", *common, "--batch-size", "4", "--grad-accum", "2") == 0
    a, b = (_results(tmp_path / x)["train"]["history"] for x in "ab")
    assert [h["task"] for h in a] == pytest.approx([h["task"] for h in b], rel=1e-4)


def test_distillation_term_is_the_tempered_kl():
    torch.manual_seed(0)
    student, teacher = torch.randn(5, 7, 4), torch.randn(5, 7, 4)
    labels = torch.randint(0, 4, (5, 7))
    labels[:, 0] = -100
    keep = labels != -100
    t = 3.0
    expected = F.kl_div(F.log_softmax(student[keep] / t, -1), F.log_softmax(teacher[keep] / t, -1),
                        log_target=True, reduction="sum") * t * t
    assert float(distill_loss_sum(student[keep], teacher[keep], t)) == pytest.approx(float(expected), rel=1e-5)
    assert float(distill_loss_sum(student[keep], student[keep], t)) == pytest.approx(0.0, abs=1e-5)
    expected_task = F.cross_entropy(student[keep], labels[keep], reduction="sum")
    assert float(task_loss_sum(student, labels, "ner")) == pytest.approx(float(expected_task), rel=1e-5)


def test_distillation_changes_the_loss_only_when_alpha_is_positive(tiny_bert, ner_run, tmp_path):
    teacher = ["--teacher", str(ner_run / "model"), "--max-steps", "3"]
    assert _ner(tiny_bert, tmp_path / "plain", "--max-steps", "3") == 0
    assert _ner(tiny_bert, tmp_path / "zero", *teacher, "--distill-alpha", "0") == 0
    assert _ner(tiny_bert, tmp_path / "half", *teacher, "--distill-alpha", "0.5") == 0
    plain, zero, half = (_results(tmp_path / x)["train"]["history"] for x in ("plain", "zero", "half"))
    assert [h["task"] for h in zero] == pytest.approx([h["task"] for h in plain])
    assert all(h["distill"] > 0 for h in half)
    assert half[0]["task"] == pytest.approx(plain[0]["task"])  # same first batch, same start
    assert [h["task"] for h in half[1:]] != pytest.approx([h["task"] for h in plain[1:]])


def _write_shards(folder, tokenizer):
    text = (DATA / "wikitext_sample.txt").read_text()
    docs = [tokenizer.encode(d, add_special_tokens=False) for d in text.split("\n = ") if d.strip()]
    return write_shard(folder, docs, tokenizer.eos_token_id)


def test_sft_masks_prompts_and_replay_mixes_lm_loss(tiny_llama, tmp_path):
    from transformers import AutoTokenizer

    from refinedweb.model.tasks.instructions import DEFAULT_TEMPLATE, Pair, encode_pair

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    feature = encode_pair(tokenizer, Pair("say hi", "hi there"), 64)
    prompt_len = 1 + len(tokenizer.encode(DEFAULT_TEMPLATE.format(prompt="say hi"), add_special_tokens=False))
    assert feature["labels"][:prompt_len] == [-100] * prompt_len
    assert feature["labels"][prompt_len:] == feature["input_ids"][prompt_len:]

    shards = _write_shards(tmp_path / "shards", tokenizer)
    base = ["finetune", "--task", "sft", "--model", str(tiny_llama), "--train", str(DATA / "copa_sft.jsonl"),
            "--validation", str(DATA / "copa_sft.jsonl"), *FAST, "--batch-size", "8", "--max-train-samples", "32",
            "--max-eval-samples", "16", "--replay-seq-len", "16"]
    assert main([*base, "--output", str(tmp_path / "plain")]) == 0
    assert main([*base, "--output", str(tmp_path / "r0"), "--replay", str(shards), "--replay-ratio", "0"]) == 0
    assert main([*base, "--output", str(tmp_path / "r5"), "--replay", str(shards), "--replay-ratio", "0.5"]) == 0
    plain, r0, r5 = (_results(tmp_path / x)["train"]["history"] for x in ("plain", "r0", "r5"))
    assert _falls(plain, 0.95)
    assert [h["task"] for h in r0] == pytest.approx([h["task"] for h in plain])
    assert all(h["replay"] > 0 for h in r5) and r5[0]["task"] == pytest.approx(plain[0]["task"])
    assert [h["task"] for h in r5[1:]] != pytest.approx([h["task"] for h in plain[1:]])
    assert _results(tmp_path / "plain")["validation"]["perplexity"] > 1

    # Saved with its training layout as the chat template: serve's chat prompt gives the very ids trained on.
    from refinedweb.model import api
    from refinedweb.model.generate import Generator

    saved = Generator.load(tmp_path / "plain" / "model")
    assert json.loads((tmp_path / "plain" / "model" / "finetune.json").read_text())["chat_template_added"] is True
    prompt, stop = api.chat_prompt(saved.tokenizer, [{"role": "user", "content": "say hi"}])
    assert saved.encode(prompt) == feature["input_ids"][:prompt_len] and stop == []
    with_system = api.chat_prompt(saved.tokenizer, [{"role": "system", "content": "be brief"},
                                                     {"role": "user", "content": "say hi"}])[0]
    assert with_system == "[CLS]be brief\n\n" + DEFAULT_TEMPLATE.format(prompt="say hi")


def test_bad_inputs_exit_2_with_a_clear_message(tiny_bert, tmp_path, capsys):
    unseen = tmp_path / "unseen.conll"
    unseen.write_text((DATA / "conll_dev.txt").read_text().replace("I-PER", "I-PERSON", 1))
    assert _ner(tiny_bert, tmp_path / "o1", "--test", str(unseen)) == 2
    err = capsys.readouterr().err
    assert "unseen.conll" in err and "'B-PERSON' never occurs in the training file" in err

    malformed = tmp_path / "malformed.conll"
    malformed.write_text("EU NNP I-NP I-ORG\nrejects VBZ\n")
    assert _ner(tiny_bert, tmp_path / "o2", "--train", str(malformed)) == 2
    assert "malformed.conll:2" in capsys.readouterr().err

    empty = tmp_path / "empty.conll"
    empty.write_text("")
    assert _ner(tiny_bert, tmp_path / "o3", "--validation", str(empty)) == 2
    assert "empty.conll holds no sentences" in capsys.readouterr().err

    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_bert / name, bare / name)
    assert _ner(bare, tmp_path / "o4") == 2
    err = capsys.readouterr().err
    assert "no tokenizer files" in err and "--tokenizer" in err
    assert _ner(bare, tmp_path / "o5", "--tokenizer", str(tiny_bert)) == 0


def test_evaluate_cli_reports_ner_of_a_finetuned_model(ner_run, tmp_path):
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(ner_run / "model"), "--tasks", f"ner:{DATA / 'conll_dev.txt'}",
                 "--output", str(out)]) == 0
    scores = json.loads(out.read_text())[f"ner:{DATA / 'conll_dev.txt'}"]
    assert scores["f1"] == pytest.approx(_results(ner_run)["test"]["f1"])


def test_freezing_leaves_only_the_unfrozen_parameters_trainable(tiny_bert, tmp_path):
    assert _ner(tiny_bert, tmp_path / "enc", "--freeze-encoder", "--max-steps", "2") == 0
    assert _results(tmp_path / "enc")["train"]["trainable_params"] == 32 * 9 + 9  # the classifier only
    assert _ner(tiny_bert, tmp_path / "low", "--freeze-layers", "1", "--max-steps", "2") == 0
    low = _results(tmp_path / "low")["train"]
    assert 32 * 9 + 9 < low["trainable_params"] < low["total_params"] - 30522 * 32


def _tokens_only(path, source, limit=None):
    """A one-column CoNLL file: the tokens of ``source`` without tags (unlabelled text)."""
    lines = [line.split()[0] if line.strip() else "" for line in source.read_text().splitlines()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cached_teacher_targets_line_up_with_the_student(ner_run, tmp_path):
    """A student that starts as its own teacher has zero KL on its first step: the cached rows (first sub-tokens of
    labelled and unlabelled sentences alike) sit exactly where the student's positions are."""
    model = ner_run / "model"
    unlabelled = _tokens_only(tmp_path / "extra.conll", DATA / "conll_dev.txt")
    common = ["--teacher", str(model), "--dropout", "0", "--max-steps", "2", "--distill-alpha", "0.5"]
    assert _ner(model, tmp_path / "self", *common) == 0
    assert _ner(model, tmp_path / "self-extra", *common, "--distill-data", str(unlabelled)) == 0
    for run in ("self", "self-extra"):
        first = _results(tmp_path / run)["train"]["history"][0]
        assert first["distill"] == pytest.approx(0.0, abs=1e-5) and first["task"] > 0
    assert _results(tmp_path / "self-extra")["train"]["distill_examples"] == 100


def test_distill_data_gets_only_the_teachers_targets(tiny_bert, ner_run, tmp_path, capsys):
    extra = tmp_path / "extra.conll"
    # gold tags in the extra file are ignored: even a tag the model has no output for is no error
    extra.write_text((DATA / "conll_dev.txt").read_text().replace("I-PER", "I-PERSON"))
    teacher = ["--teacher", str(ner_run / "model"), "--max-steps", "3", "--no-group-by-length", "--dropout", "0"]
    assert _ner(tiny_bert, tmp_path / "a", *teacher, "--distill-data", str(extra)) == 0
    train = _results(tmp_path / "a")["train"]
    assert train["distill_examples"] == 100 and train["examples"] == 96
    assert all(h["distill"] > 0 for h in train["history"])
    assert _ner(tiny_bert, tmp_path / "d", "--distill-data", str(extra)) == 2
    assert "--distill-data" in capsys.readouterr().err
    empty = tmp_path / "empty.conll"
    empty.write_text("\n\n")
    assert _ner(tiny_bert, tmp_path / "e", *teacher, "--distill-data", str(empty)) == 2
    assert f"{empty} holds no sentences" in capsys.readouterr().err


def test_unlabelled_examples_carry_no_task_loss_only_distilled_positions(tiny_bert):
    from refinedweb.model.finetune import data as D
    from refinedweb.model.finetune.config import FinetuneConfig
    from refinedweb.model.finetune.losses import distill_count, distilled_positions
    from refinedweb.model.finetune.models import load_tokenizer

    cfg = FinetuneConfig(task="ner", model="m", train="t", output="o")
    split = D.read_split("ner", str(DATA / "conll_dev.txt"), cfg, 8, labelled=False)
    D.encode("ner", split, load_tokenizer(str(tiny_bert)), ["O", "B-PER", "I-PER"], 128)
    words = sum(len(s.tokens) for s in split.examples)
    for f in split.features:
        assert set(f["labels"]) == {-100} and f["first"]
        f["teacher"] = torch.randn(len(f["first"]), 3)
    batch = D.collate(split.features, 0, "ner")
    assert distill_count(batch, "ner") == words == len(batch["teacher"])
    logits = torch.randn(*batch["input_ids"].shape, 3)
    assert float(task_loss_sum(logits, batch["labels"], "ner")) == 0.0
    rows = distilled_positions(logits, batch, "ner")
    assert torch.equal(rows[0], logits[0, split.features[0]["first"][0]])  # row-major, first sub-tokens only
    assert torch.equal(rows[-1], logits[-1, split.features[-1]["first"][-1]])


def test_collate_pads_to_a_multiple_without_changing_the_loss(tiny_bert):
    """Widths rounded up to 8 (as on a GPU) add only masked, unlabelled positions: same loss, same logits where real."""
    from refinedweb.model.finetune import data as D
    from refinedweb.model.finetune.config import FinetuneConfig
    from refinedweb.model.finetune.models import load_task_model, load_tokenizer

    cfg = FinetuneConfig(task="ner", model="m", train="t", output="o")
    split = D.read_split("ner", str(DATA / "conll_dev.txt"), cfg, 5)
    labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    tokenizer = load_tokenizer(str(tiny_bert))
    D.encode("ner", split, tokenizer, labels, 128)
    plain, padded = D.collate(split.features, 0, "ner"), D.collate(split.features, 0, "ner", 8)
    width = plain["input_ids"].shape[1]
    assert padded["input_ids"].shape[1] % 8 == 0 and width <= padded["input_ids"].shape[1] < width + 8
    for key in plain:
        assert torch.equal(padded[key][:, :width], plain[key])
    assert (padded["labels"][:, width:] == -100).all() and (padded["attention_mask"][:, width:] == 0).all()
    model = load_task_model(str(tiny_bert), "ner", labels, tokenizer).eval()
    with torch.no_grad():
        a = model(input_ids=plain["input_ids"], attention_mask=plain["attention_mask"]).logits
        b = model(input_ids=padded["input_ids"], attention_mask=padded["attention_mask"]).logits
    assert torch.allclose(a, b[:, :width], atol=1e-5)
    assert torch.allclose(task_loss_sum(a, plain["labels"], "ner"), task_loss_sum(b, padded["labels"], "ner"), atol=1e-4)


def test_unlabelled_readers_keep_text_only(tmp_path):
    from refinedweb.model.tasks.conll import read_conll
    from refinedweb.model.tasks.tabular import read_labelled_texts

    sentences = read_conll(str(_tokens_only(tmp_path / "t.conll", DATA / "conll_dev.txt")), labelled=False)
    assert len(sentences) == 100 and all(s.tokens and s.labels == [] for s in sentences)
    with pytest.raises(Exception, match="malformed"):
        read_conll(str(tmp_path / "t.conll"))  # the same file as labelled data is an error
    texts = tmp_path / "t.tsv"
    texts.write_text("sentence\nit is good\nbad film\n")
    assert [e.text for e in read_labelled_texts(str(texts), labelled=False)] == ["it is good", "bad film"]


def test_head_lr_reaches_the_head_inside_a_lora_model(tiny_bert):
    from refinedweb.model.finetune.config import FinetuneConfig
    from refinedweb.model.finetune.models import add_lora, load_task_model, load_tokenizer
    from refinedweb.model.finetune.train import build_optimizer

    labels = ["O", "B-PER", "I-PER"]
    model = load_task_model(str(tiny_bert), "ner", labels, load_tokenizer(str(tiny_bert)))
    model = add_lora(model, "ner", 4, 8.0, 0.0, ["query", "value"])
    cfg = FinetuneConfig(task="ner", model="m", train="t", output="o", lr=1e-3, head_lr=1e-2)
    optimizer = build_optimizer(model, cfg, torch.device("cpu"))
    head = sum(p.numel() for g in optimizer.param_groups if g["lr"] == 1e-2 for p in g["params"])
    assert head == 32 * 3 + 3  # the classifier's weight and bias, trained at full rank
    assert sum(p.numel() for g in optimizer.param_groups for p in g["params"]) == sum(
        p.numel() for p in model.parameters() if p.requires_grad)
