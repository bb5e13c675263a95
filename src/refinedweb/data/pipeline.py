"""The pipeline configuration (what a preset or ``--config`` file holds) and building steps from it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from refinedweb.config import Config, apply_overrides, load_yaml
from refinedweb.data.readers import ReaderConfig
from refinedweb.data.writers import WriterConfig
from refinedweb.data.step import PipelineStep
from refinedweb.errors import ConfigError
from refinedweb.registry import step_class

PRESETS_DIR = Path(__file__).resolve().parent.parent / "configs"
PRESETS = ("refinedweb", "fineweb", "roots", "c4", "gopher")


@dataclasses.dataclass
class PipelineConfig(Config):
    name: str = "custom"
    version: int = 1
    reader: ReaderConfig = dataclasses.field(default_factory=ReaderConfig)
    steps: list[dict] = dataclasses.field(default_factory=list)
    """Per-document steps in order; each a mapping with ``step`` (registry name), optional ``name`` and options."""
    dedup: list[dict] = dataclasses.field(default_factory=list)
    """Corpus-level dedup stages run after the per-document steps (see refinedweb.data.dedup)."""
    writer: WriterConfig = dataclasses.field(default_factory=WriterConfig)

    def validate(self) -> None:
        seen: set[str] = set()
        for i, spec in enumerate(self.steps + self.dedup):
            if not isinstance(spec, dict) or "step" not in spec:
                raise ConfigError(f"steps[{i}] must be a mapping with a 'step' key naming a registered step")
            name = spec.get("name") or spec["step"]
            if name in seen:
                raise ConfigError(f"two steps are named {name!r}; give one a distinct 'name:'")
            seen.add(name)

    def build_steps(self) -> list[PipelineStep]:
        return [build_step(spec) for spec in self.steps]


def build_step(spec: dict[str, Any]) -> PipelineStep:
    options = {k: v for k, v in spec.items() if k not in ("step", "name")}
    cls = step_class(spec["step"])
    return cls.from_dict(options, name=spec.get("name") or spec["step"])


def preset_path(name: str) -> Path:
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.exists():
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return path


def load_pipeline(preset: str | None, config_file: str | None, overrides: list[str]) -> PipelineConfig:
    """Resolve ``--preset`` or ``--config`` plus ``--set`` overrides into a validated config with built steps."""
    if preset and config_file:
        raise ConfigError("give either --preset or --config, not both")
    data = load_yaml(config_file) if config_file else load_yaml(preset_path(preset or "refinedweb"))
    config = PipelineConfig.from_dict(apply_overrides(data, overrides))
    config.build_steps()  # validates every step's options before any work starts
    if config.dedup:
        from refinedweb.data.dedup import build_stages  # dedup stages have their own table (see its docstring)

        build_stages(config.dedup)
    return config
