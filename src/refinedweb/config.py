"""Typed configuration: dataclasses loaded from YAML or dicts, validated, with dotted overrides.

Unknown keys are errors that list the valid keys. ``None`` means "disabled". ``--set a.b.c=value`` overrides any
key; inside a list of steps, the step is addressed by its ``name`` (which defaults to its registry name), so
``--set steps.gopher_quality.min_words=100`` works. ``filters.`` is accepted as a synonym of ``steps.``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from refinedweb.errors import ConfigError

C = TypeVar("C", bound="Config")


@dataclasses.dataclass
class Config:
    """Base of every config dataclass. Subclasses declare fields with defaults and override ``validate``."""

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any] | None, where: str = "") -> C:
        data = dict(data or {})
        if not isinstance(data, dict):
            raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = sorted(set(data) - set(names))
        if unknown:
            prefix = f"{where}." if where else ""
            raise ConfigError(
                f"unknown key {prefix}{unknown[0]} in {cls.__name__}; valid keys: {', '.join(names) or '(none)'}"
            )
        kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
        obj = cls(**kwargs)
        obj.validate()
        return obj

    @classmethod
    def from_yaml(cls: type[C], path: str | Path, overrides: list[str] | None = None) -> C:
        data = load_yaml(path)
        return cls.from_dict(apply_overrides(data, overrides or []))

    def validate(self) -> None:
        """Raise ConfigError naming the key and the fix when a value is out of range."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def check_range(self, key: str, low: float | None = None, high: float | None = None) -> None:
        """Helper for ``validate``: ``low <= value <= high`` unless the value is None (disabled)."""
        value = getattr(self, key)
        if value is None:
            return
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
            raise ConfigError(f"{type(self).__name__}.{key}={value!r} is out of range; use a value in {span}")


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert a YAML value to the declared type, recursing into nested configs and lists of them."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _coerce(value, non_none[0], where)
        return value
    if isinstance(hint, type) and issubclass(hint, Config):
        return hint.from_dict(value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        try:  # YAML 1.1 reads "3e-4" (no dot) as a string; accept it as the float it means
            return float(value)
        except ValueError:
            pass
    if hint in (int, float, str, bool) and not isinstance(value, hint):
        if hint is str and isinstance(value, (int, float)):
            return str(value)
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (value parsed as YAML) to a nested dict, in place; return it."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.path=value")
        path, raw = item.split("=", 1)
        value = yaml.safe_load(raw) if raw != "" else None
        keys = path.split(".")
        if keys[0] == "filters" and "filters" not in data:
            keys[0] = "steps"
        node: Any = data
        for i, key in enumerate(keys[:-1]):
            node = _descend(node, key, ".".join(keys[: i + 1]))
        last = keys[-1]
        if isinstance(node, list):
            raise ConfigError(f"override {path}: name a key inside the list element")
        node[last] = value
    return data


def _descend(node: Any, key: str, where: str) -> Any:
    if isinstance(node, dict):
        if key not in node or node[key] is None:
            node[key] = {}
        return node[key]
    if isinstance(node, list):
        for element in node:
            if isinstance(element, dict) and (element.get("name") or element.get("step")) == key:
                return element
        names = [e.get("name") or e.get("step") for e in node if isinstance(e, dict)]
        raise ConfigError(f"override path {where}: no step named {key!r}; steps here: {', '.join(map(str, names))}")
    raise ConfigError(f"override path {where}: cannot descend into {type(node).__name__}")


def dump_yaml(data: dict[str, Any], path: str | Path) -> None:
    from refinedweb.io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
