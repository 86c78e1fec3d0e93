"""Checks: pure functions from typed inputs to findings. No pytest, no I/O of their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One verdict a check reached: what, where, expected vs actual and the next step."""

    check: str  # stable id, e.g. "PF-SIZE"
    subject: str  # the contract, address or table it concerns
    severity: Severity
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


# A check that does not apply to this target or network says so with this prefix (see
# signoff.suite.not_applicable): it is listed as "not applicable" apart from checks that could not
# run, and --signoff-strict does not fail it.
NOT_APPLICABLE = "not applicable: "


NOT_CHECKED = "not checked: "


def says_not_checked(message: str) -> bool:
    """A failure message (perhaps with pytest's "Failed: " prefix) that says the check could not look."""
    return message.removeprefix("Failed: ").lstrip().startswith(NOT_CHECKED)


def says_not_applicable(reason: str) -> bool:
    """A skip reason, as pytest reports it (perhaps with its "Skipped: " prefix), that says not applicable."""
    return reason.removeprefix("Skipped: ").startswith(NOT_APPLICABLE)
