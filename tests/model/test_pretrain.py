"""The training loop on real text (byte-level Shakespeare shards, see conftest.py), on CPU."""

import json
import shutil

import pytest
import torch

from refinedweb.errors import ConfigError
from refinedweb.model.config import preset
from refinedweb.model.distributed import World
from refinedweb.model.objectives import CausalLM
from refinedweb.model.pretrain import PretrainConfig, accumulate_gradients, demo_config, lr_factor, pretrain


def small_run(shards, output, **overrides) -> PretrainConfig:
    settings = dict(
        data=str(shards), output=str(output), preset="tiny", seq_len=64, batch_size=4, max_steps=20, lr=3e-3,
        warmup_steps=5, eval_interval=10, eval_batches=2, save_interval=None, log_interval=1, device="cpu",
        verbose=False,
    )
    settings.update(overrides)
    return PretrainConfig.from_dict(settings)


def read_metrics(output):
    return [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]


def test_loss_falls_and_metrics_and_checkpoint_are_written(shards, tmp_path):
    result = pretrain(small_run(shards, tmp_path / "run"))
    assert result.steps == 20 and len(result.losses) == 20
    assert sum(result.losses[-3:]) / 3 <= 0.85 * result.first_loss
    records = read_metrics(tmp_path / "run")
    train = [r for r in records if "loss" in r]
    assert [r["step"] for r in train] == list(range(1, 21))
    assert {"step", "loss", "lr", "tokens_per_s", "mfu", "grad_norm"} <= set(train[0])
    assert train[0]["mfu"] is None  # no GPU peak on a CPU: not reported rather than made up
    assert [r["step"] for r in records if "val_loss" in r] == [10, 20]
    assert result.val_loss == pytest.approx(records[-1]["val_loss"], abs=1e-6)
    transformers = pytest.importorskip("transformers")
    hf = transformers.AutoModelForCausalLM.from_pretrained(result.checkpoint)
    tok = transformers.AutoTokenizer.from_pretrained(result.checkpoint)
    assert hf.config.vocab_size == 320  # 257 byte-level tokens padded to a multiple of 64
    assert tok.decode(tok("Romeo")["input_ids"]) == "Romeo"


@pytest.mark.slow
def test_tiny_preset_loss_falls_15_percent_in_100_steps(shards, tmp_path):
    result = pretrain(small_run(shards, tmp_path / "run", seq_len=128, batch_size=8, max_steps=100, warmup_steps=10,
                                eval_interval=50, eval_batches=4))
    assert sum(result.losses[-5:]) / 5 <= 0.85 * result.first_loss


@pytest.mark.parametrize("objective", [{}, {"objective": "mlm", "mlm": {"sentence_objective": "sop"}}],
                         ids=["clm", "mlm+sop"])
def test_resume_reproduces_the_uninterrupted_loss_curve(shards, tmp_path, objective):
    full = tmp_path / "full"
    pretrain(small_run(shards, full, max_steps=8, save_interval=4, eval_interval=4, **objective))
    resumed = tmp_path / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copytree(full / "checkpoints" / "step-00000004", resumed / "checkpoints" / "step-00000004")
    # As if the first run had logged steps 1-6 and then died: the lines after the checkpoint are replaced.
    lines = (full / "metrics.jsonl").read_text().splitlines()
    (resumed / "metrics.jsonl").write_text("".join(line + "\n" for line in lines if json.loads(line)["step"] <= 6))
    result = pretrain(small_run(shards, resumed, max_steps=8, save_interval=4, eval_interval=4, resume=True,
                                **objective))
    assert result.steps == 8 and len(result.losses) == 4
    def curve(output):  # everything but the timings
        return [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in read_metrics(output)]

    assert curve(resumed) == curve(full)  # losses, lr, grad norms and val loss, to the 6th decimal
    a = torch.load(full / "checkpoints" / "step-00000008" / "trainer_state.pt", weights_only=False)
    b = torch.load(resumed / "checkpoints" / "step-00000008" / "trainer_state.pt", weights_only=False)
    assert a["loader"] == b["loader"] and a["scheduler"] == b["scheduler"]


def test_demo_config_is_valid():
    config = demo_config("shards", "out", seconds=5)
    config.validate()
    assert config.preset == "tiny" and config.device == "cpu" and config.time_limit_s == 5


def test_time_limit_stops_early_and_saves(shards, tmp_path):
    result = pretrain(small_run(shards, tmp_path / "run", max_steps=1000, time_limit_s=0.0, eval_interval=None))
    assert result.steps == 1 and len(result.losses) == 1
    assert (tmp_path / "run" / "final" / "model.safetensors").is_file()
    assert (tmp_path / "run" / "checkpoints" / "step-00000001" / "trainer_state.pt").is_file()


@pytest.mark.parametrize("split", [[8], [4, 4], [1] * 8])
def test_gradient_accumulation_matches_one_big_batch(shards, split):
    from refinedweb.data.tokenize.loader import ShardLoader

    batch = next(ShardLoader(shards / "train", 8, 32))
    objective = CausalLM(preset("tiny", vocab_size=320), torch.device("cpu"), None, None)

    def grads(sizes):
        torch.manual_seed(0)
        model = objective.build_model()
        micro, start = [], 0
        for n in sizes:
            micro.append(objective.prepare(batch[start : start + n]))
            start += n
        loss = accumulate_gradients(objective, model, micro, World(0, 1, torch.device("cpu")), _no_autocast)
        return loss, [p.grad.clone() for p in model.parameters()]

    loss_big, grads_big = grads([8])
    loss, grads_split = grads(split)
    assert torch.allclose(loss, loss_big, atol=1e-6)
    for a, b in zip(grads_big, grads_split):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)


def _no_autocast():
    import contextlib

    return contextlib.nullcontext()


def test_schedule_warms_up_then_decays_to_the_floor():
    factors = [lr_factor(s, 10, 100, 0.1) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert factors[-1] == pytest.approx(0.1, abs=1e-3)


def test_tokens_outside_the_vocabulary_are_a_clear_error(shards, tmp_path):
    data = tmp_path / "no-tokenizer"
    data.mkdir()
    for split in ("train", "val"):
        (data / split).symlink_to(shards / split)
    small = dict(vocab_size=128, n_layer=1, d_model=32, n_head=2, d_ff=64, max_seq_len=64)
    config = small_run(data, tmp_path / "run", preset=None, model=small, max_steps=2)
    with pytest.raises(ConfigError, match="outside the vocabulary"):
        pretrain(config)


def test_a_tokenizer_other_than_the_shards_one_is_refused(shards, tmp_path):
    from tokenizers import Tokenizer

    other = Tokenizer.from_file(str(shards / "tokenizer" / "tokenizer.json"))
    other.add_special_tokens(["<|pad|>"])
    other.save(str(tmp_path / "other.json"))
    with pytest.raises(ConfigError, match="not the one the shards were written with"):
        pretrain(small_run(shards, tmp_path / "run", tokenizer=str(tmp_path / "other.json")))


def test_missing_split_and_bad_settings_are_config_errors(shards, tmp_path):
    (tmp_path / "empty" / "train").mkdir(parents=True)
    with pytest.raises(ConfigError, match="no token shards"):
        pretrain(small_run(tmp_path / "empty", tmp_path / "run"))
    with pytest.raises(ConfigError, match="unknown preset"):
        small_run(shards, tmp_path / "run", preset="huge")
    with pytest.raises(ConfigError, match="unknown key"):
        small_run(shards, tmp_path / "run", learning_rate=1.0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_compiled_run_reports_mfu(shards, tmp_path):
    result = pretrain(small_run(shards, tmp_path / "run", device="cuda", max_steps=30, batch_size=16, seq_len=128,
                                peak_flops=None))
    assert sum(result.losses[-3:]) / 3 <= 0.85 * result.first_loss
    record = [r for r in read_metrics(tmp_path / "run") if "loss" in r][-1]
    assert record["device"] != "cpu"
    if record["mfu"] is not None:  # a GPU in the peak table
        assert 0 < record["mfu"] < 1
