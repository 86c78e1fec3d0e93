"""Error types that carry a complete, user-facing message.

Every message says what is wrong, where (file, key, address), expected vs actual, and the
next step. The plugin turns :class:`ConfigError` into ``pytest.UsageError``; nothing here
ever needs a traceback to be understood.
"""

from __future__ import annotations


class SignoffError(Exception):
    """Base class: ``str(error)`` is the whole message for the user."""


class ConfigError(SignoffError):
    """The target file or a command-line option is wrong; the run cannot start."""


class ArtifactError(SignoffError):
    """A compiled artifact could not be read or understood."""


class ChainError(SignoffError):
    """A chain could not be reached, started or trusted."""
