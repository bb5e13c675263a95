"""``metrics.jsonl``: one JSON object per line, appended and flushed as training goes (a crash loses nothing logged).

Lines are ``{"step", "loss", "lr", "tokens_per_s", "mfu", "grad_norm", "tokens", "device"}`` for training steps and
``{"step", "val_loss"}`` for evaluations. On resume, the lines after the checkpoint's step are dropped first, so the
file reads as one uninterrupted run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from refinedweb.io import atomic_write_text


class MetricsLog:
    """Appends records to ``path``; ``enabled=False`` (ranks other than 0) makes every call a no-op."""

    def __init__(self, path: Path, enabled: bool = True, echo: bool = False, resume_step: int | None = None):
        self.echo = echo
        self.handle = None
        if not enabled:
            return
        if resume_step is not None and path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            kept = [line for line in lines if line.strip() and json.loads(line)["step"] <= resume_step]
            atomic_write_text(path, "".join(line + "\n" for line in kept))
        self.handle = open(path, "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        if self.handle is None:
            return
        self.handle.write(json.dumps(record) + "\n")
        self.handle.flush()
        if self.echo:
            print(" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
