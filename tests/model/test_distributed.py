"""torchrun with 2 CPU processes (gloo): DDP and FSDP train the same curve, and a DDP run resumes exactly."""

import json
import os
import shutil
import subprocess
import sys

import pytest


def torchrun(shards, output, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "refinedweb",
        "pretrain", "--preset", "tiny", "--data", str(shards), "--output", str(output), "--device", "cpu",
        "--max-steps", "6", "--set", "seq_len=32", "--set", "batch_size=2", "--set", "eval_interval=3",
        "--set", "save_interval=3", "--set", "log_interval=1", "--set", "lr=3e-3", "--set", "warmup_steps=2",
        "--set", "verbose=false", *extra,
    ]
    subprocess.run(cmd, check=True, env=env, timeout=600, capture_output=True)
    return [
        {k: v for k, v in json.loads(line).items() if k != "tokens_per_s"}
        for line in (output / "metrics.jsonl").read_text().splitlines()
    ]


@pytest.mark.slow
def test_ddp_fsdp_and_resume_under_torchrun(shards, tmp_path):
    ddp = torchrun(shards, tmp_path / "ddp", "--set", "parallel=ddp")
    fsdp = torchrun(shards, tmp_path / "fsdp", "--set", "parallel=fsdp")
    assert [r.get("loss") for r in ddp] == pytest.approx([r.get("loss") for r in fsdp], abs=1e-4)
    assert ddp[-2]["loss"] < ddp[0]["loss"]
    resumed = tmp_path / "resumed"
    shutil.copytree(tmp_path / "ddp" / "checkpoints" / "step-00000003", resumed / "checkpoints" / "step-00000003")
    after = torchrun(shards, resumed, "--set", "parallel=ddp", "--resume")
    assert after == [r for r in ddp if r["step"] > 3]
    transformers = pytest.importorskip("transformers")
    transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "fsdp" / "final")
