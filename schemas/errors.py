"""Every error a user of spoolbridge can see, as one tree.

::

    SpoolbridgeError              anything spoolbridge reports to a person (exit code 1 unless noted)
    ├── ConfigError               a setting is wrong; names the setting, never its value (exit code 2)
    ├── StackError                the local Kafka/OpenSearch stack cannot be set up, started or stopped
    ├── ServiceUnavailableError   Kafka or OpenSearch cannot be reached: says what was tried, what to check
    └── InputFileError            an input file cannot be read as records; says where (byte/line)

Library errors are converted at the boundary with ``raise ... from exc``. Messages say what happened, to
which file/record/setting, and what to do — and never contain a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "ConfigError",
    "InputFileError",
    "ServiceUnavailableError",
    "SpoolbridgeError",
    "StackError",
]


class SpoolbridgeError(Exception):
    """Base of everything spoolbridge reports to a person."""

    exit_code = 1


class ConfigError(SpoolbridgeError):
    """A setting is wrong. ``str()`` is one line: ``setting <name>: <problem>``."""

    exit_code = 2

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"setting {setting}: {problem}")

    @classmethod
    def from_validation(cls, exc: ValidationError) -> ConfigError:
        """The first validation error, named by its dotted setting path; the input value is left out."""
        first = exc.errors(include_input=False, include_url=False)[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        message = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's text
        if first["type"] == "extra_forbidden":
            message = "unknown setting"
        return cls(name, message)


class StackError(SpoolbridgeError):
    """The local stack cannot be set up, started or stopped."""


class ServiceUnavailableError(SpoolbridgeError):
    """Kafka or OpenSearch cannot be reached."""


class InputFileError(SpoolbridgeError):
    """An input file cannot be read as records.

    ``position`` is a byte offset (``unit='byte'``) or a 1-based line number (``unit='line'``).
    """

    def __init__(
        self, reason: str, *, position: int | None = None, unit: str = "byte", hint: str = ""
    ) -> None:
        self.reason = reason
        self.position = position
        self.unit = unit
        self.hint = hint
        where = f" at {unit} {position}" if position is not None else ""
        super().__init__(f"{reason}{where}" + (f"; {hint}" if hint else ""))
