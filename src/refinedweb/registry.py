"""Name → class tables for steps, so YAML configs can name them.

Registration is explicit: a module declares ``@register("gopher_quality")`` on its class, and ``STEP_MODULES`` lists
the modules to import when a name is looked up. Importing is deferred so that naming a step costs nothing until it
is used, and heavy dependencies (fastText, trafilatura) load only in the runs that need them.
"""

from __future__ import annotations

import importlib

from refinedweb.errors import ConfigError

_STEPS: dict[str, type] = {}

# Every module that registers steps. A new step adds its module here once.
STEP_MODULES = (
    "refinedweb.data.extract",
    "refinedweb.data.langid",
    "refinedweb.data.filters.url",
    "refinedweb.data.filters.gopher",
    "refinedweb.data.filters.c4",
    "refinedweb.data.filters.fineweb",
    "refinedweb.data.filters.roots",
    "refinedweb.data.filters.length",
    "refinedweb.data.lines",
    "refinedweb.data.pii",
)


def register(name: str):
    """Class decorator: make a step available to configs under ``name``."""

    def wrap(cls):
        if name in _STEPS and _STEPS[name] is not cls:
            raise RuntimeError(f"step name {name!r} registered twice")
        _STEPS[name] = cls
        cls.registry_name = name
        return cls

    return wrap


def _load_all() -> None:
    for module in STEP_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # A module of ours that does not exist yet is fine; a missing third-party import is not hidden.
            if not (exc.name or "").startswith(module.rsplit(".", 1)[0]) and exc.name != module:
                raise


def step_class(name: str) -> type:
    if name not in _STEPS:
        _load_all()
    if name not in _STEPS:
        known = ", ".join(sorted(_STEPS))
        raise ConfigError(f"unknown step {name!r}; known steps: {known}")
    return _STEPS[name]


def step_names() -> list[str]:
    _load_all()
    return sorted(_STEPS)


def registered_steps() -> dict[str, type]:
    """The steps registered so far in this process, without importing any module (executors ship the ones that
    came from outside the package to their workers)."""
    return dict(_STEPS)
