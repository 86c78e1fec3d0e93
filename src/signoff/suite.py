"""Helpers for the thin suite modules: parametrising over the target's contracts.

An unreadable artifact is not dropped: it becomes a case of its own that fails with the
loader's message, so a truncated file can never shrink a check into a green report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

from signoff.artifacts.loader import ArtifactProblem, ArtifactSet, Contract
from signoff.findings import NOT_APPLICABLE
from signoff.redaction import redact

# A check that should have run but could not is a plain skip ("NOT RUN"); one that does not apply
# here says so with NOT_APPLICABLE and names the key that would make it apply.


def not_applicable(reason: str) -> NoReturn:
    """Stop this check as not applicable here; ``reason`` names what is missing and the key that adds it."""
    pytest.skip(NOT_APPLICABLE + redact(reason))


def not_applicable_param(reason: str, test_id: str) -> Any:
    """A parametrisation of one case that is not applicable (e.g. no ``[[diamonds]]`` at all)."""
    return pytest.param(None, marks=pytest.mark.skip(reason=NOT_APPLICABLE + redact(reason)), id=test_id)


def safe_id(value: str | None, absent: str = "not-configured") -> str:
    """A test id from configuration: secret values (from ${VAR}) become ``***``."""
    return absent if value is None else redact(value)


@dataclass(frozen=True)
class ContractCase:
    """One parametrised case: a contract, or an artifact file that could not be read."""

    id: str
    contract: Contract | None = None
    problem: ArtifactProblem | None = None

    def require(self) -> Contract:
        """The contract; fails the test (no traceback) when its artifact was unreadable."""
        if self.problem is not None or self.contract is None:
            message = self.problem.message if self.problem else f"{self.id}: no contract"
            pytest.fail(message, pytrace=False)
        return self.contract


def contract_cases(artifacts: ArtifactSet, include: Callable[[Contract], bool]) -> list[ContractCase]:
    """Cases for every contract ``include`` accepts, then one per unreadable artifact file."""
    cases = [ContractCase(safe_id(c.fqn), contract=c) for c in artifacts.contracts if include(c)]
    for problem in artifacts.problems:
        try:
            shown = problem.path.relative_to(artifacts.root).as_posix()
        except ValueError:
            shown = problem.path.name
        cases.append(ContractCase(safe_id(f"unreadable:{shown}"), problem=problem))
    return cases


def say_once(config: pytest.Config, items: list[pytest.Item], markers: tuple[str, ...]) -> None:
    """Keep the first item carrying any of ``markers`` and deselect the rest: for checks that would all
    say the same "not applicable" (a table the target lacks), one says it, naming the key."""
    group = [item for item in items if any(item.get_closest_marker(marker) for marker in markers)]
    if len(group) > 1:
        config.hook.pytest_deselected(items=group[1:])
        dropped = {id(item) for item in group[1:]}
        items[:] = [item for item in items if id(item) not in dropped]
