"""The error hierarchy: each class tells the caller what to do with it.

- ``ConfigError``: the user's configuration or command line is wrong. Stop before any work, exit 2, print the message
  (which names the key and the fix), no traceback.
- ``InputError``: one record or document is bad. Skip it, count it under ``reason``, go on.
- ``RetryableError``: a transient failure (network, a killed worker). Retry the work unit.
- ``FatalError``: a work unit cannot be done (an unreadable file). Fail the unit, finish the others, exit 1.
"""


class RefinedWebError(Exception):
    """Base class of every error raised on purpose by refinedweb."""


class ConfigError(RefinedWebError):
    """A configuration or usage mistake; the message says which key and how to fix it."""


class InputError(RefinedWebError):
    """One bad input record: skipped and counted under ``reason``."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


class RetryableError(RefinedWebError):
    """A transient failure; the work unit may be retried."""


class FatalError(RefinedWebError):
    """A work unit that cannot be completed; the message names the input."""


class MissingDependencyError(ConfigError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, module: str, extra: str):
        super().__init__(
            f"this feature needs the Python package {module!r}: run `pip install 'refinedweb[{extra}]'`"
        )
