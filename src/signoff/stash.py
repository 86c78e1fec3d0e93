"""What a run keeps in pytest's ``config.stash``: the resolved settings and what it learned of its chain.

Core: the plugin fills it, every phase's fixtures and suites read it. Importing it costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from signoff.chain import BlockPin
from signoff.redaction import redact

if TYPE_CHECKING:
    from signoff.session import SessionSettings

SETTINGS_KEY = pytest.StashKey["SessionSettings"]()
STATE_KEY = pytest.StashKey["RunState"]()


@dataclass
class RunState:
    """What the session learned about its chain; filled at session start or by fixtures."""

    pin: BlockPin | None = None
    chain_id: int | None = None
    unreachable: str | None = None
    aborted: str | None = None
    deselected: int = 0  # items a -m/-k expression dropped
    unselected_modules: int = 0  # suite modules -m rules out before they are collected
    chain: Any = None  # this process's open Chain (session-scoped), for the block range the report shows
    environment: dict[str, str] = field(default_factory=dict)  # rows fixtures add (broker, database, anvil)
    facts: dict[str, Any] = field(default_factory=dict)


def settings_of(config: pytest.Config) -> SessionSettings:
    """The run's resolved settings (raises a usage error when the plugin did not resolve any)."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        raise pytest.UsageError("signoff settings are not resolved (was the run started with --help?)")
    return settings


def record_environment(config: pytest.Config, key: str, value: str) -> None:
    """Add a row to the report's environment (e.g. the broker or database a run tested); travels from
    xdist workers with their reports. Values are redacted like everything else."""
    state = config.stash.get(STATE_KEY, None)
    if state is not None:
        state.environment[key] = redact(value)


def reports_directory(config: pytest.Config) -> Path | None:
    """Where this run's evidence goes (``--signoff-reports`` or the ini's), None for 'none'. Side
    documents a check writes for people (the owner surface, a Safe batch) go there too."""
    given = config.getoption("signoff_reports", None)
    value = str(given or config.getini("signoff_reports") or "reports")
    if value.lower() == "none":
        return None
    return Path(config.invocation_params.dir if given else config.rootpath, value)
