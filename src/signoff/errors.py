"""Error types that carry a complete, user-facing message.

Every message says what is wrong, where (file, key, address), expected vs actual, and the
next step. The plugin turns :class:`ConfigError` into ``pytest.UsageError``; nothing here
ever needs a traceback to be understood.
"""

from __future__ import annotations

from typing import Any

_SHOWN = 60  # characters of an unexpected string shown in a message


class SignoffError(Exception):
    """Base class: ``str(error)`` is the whole message for the user."""


class ConfigError(SignoffError):
    """The target file or a command-line option is wrong; the run cannot start."""


class ArtifactError(SignoffError):
    """A compiled artifact could not be read or understood."""


class ChainError(SignoffError):
    """A chain could not be reached, started or trusted."""


def describe_value(value: Any, *, mapping: str = "an object") -> str:
    """A short, type-first description of an unexpected value for a message: ``int 0``, ``boolean true``,
    ``a list of 3``, ``null``, ``str 'big'`` (long strings cut). ``mapping`` names a dict in the file's terms
    ("an object" in JSON, "a table" in TOML)."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return mapping
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if value is None:
        return "null"
    if isinstance(value, str) and len(value) > _SHOWN:
        return f"str {value[:_SHOWN]!r}... ({len(value):,} characters)"
    return f"{type(value).__name__} {value!r}"
