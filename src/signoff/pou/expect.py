"""Judging broker answers in the thin e2e_pou suite modules: one evidence row per request,
one finding per answer that breaks the rule (any 5xx is always a finding).

A check that stops before its verdict (the broker breaks off, a seeding request is refused)
keeps what it recorded: :func:`stopped`, called by the suite's ``pytest_runtest_call``
wrapper, adds the failed expectations and the reason it stopped to the evidence and to the
one failure message.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import pytest

from signoff.errors import SignoffError
from signoff.evidence.collector import Evidence
from signoff.findings import Finding, says_not_checked
from signoff.redaction import redact

if TYPE_CHECKING:  # the client imports httpx; collection of the artifact-only preflight must not
    from signoff.pou.client import Answer


class Expect:
    """Collects rows and findings for one check; ``check()`` gives the verdict."""

    def __init__(self, evidence: Evidence, check: str) -> None:
        self.evidence = evidence
        self.check_id = check
        self.findings: list[Finding] = []
        self.count = 0
        self.checked = False
        _OPEN.setdefault(evidence, []).append(self)

    def row(self, case: str, request: str, expected: str, actual: str, ok: bool) -> None:
        self.count += 1
        self.evidence.row(
            "PU-API",
            {
                "order": f"{self.check_id}-{self.count:04d}",
                "check": self.check_id,
                "case": case,
                "request": request,
                "expected": expected,
                "actual": actual,
                "verdict": "pass" if ok else "fail",
            },
        )

    def fail(self, case: str, message: str) -> None:
        self.findings.append(Finding(self.check_id, case, "error", f"{case}: {message}"))

    def answer(  # noqa: PLR0917 - reads as a sentence: case, request, answer, expected status
        self,
        case: str,
        request: str,
        answer: Answer,
        status: int | Collection[int],
        fields: Mapping[str, Any] | None = None,
        contains: str | None = None,
    ) -> bool:
        """``answer`` must have ``status`` (one code, or a set), the ``fields`` values and ``contains``."""
        label = getattr(status, "label", None)  # a dialect rule names itself: "2xx (default settle)"
        allowed = {status} if isinstance(status, int) else set(status)
        problems = []
        if answer.status not in allowed:
            problems.append(f"status {answer.status}, expected {_codes(allowed)}")
        for key, value in (fields or {}).items():
            if not same(answer.field(key), value):
                problems.append(f"{key} = {answer.field(key)!r}, expected {value!r}")
        if contains is not None and contains not in str(answer.body):
            problems.append(f"body does not contain {contains!r}")
        if answer.status >= 500:
            problems.append("a 5xx is never an acceptable answer")
        expected = (label or _codes(allowed)) + "".join(f" {k}={v!r}" for k, v in (fields or {}).items())
        if contains:
            expected += f" containing {contains!r}"
        self.row(case, request, expected, answer.short(), not problems)
        if problems:
            self.fail(case, f"{request} answered {answer.short()}: {'; '.join(problems)}")
        return not problems

    def that(self, case: str, ok: bool, expected: str, actual: str, request: str = "") -> bool:
        self.row(case, request, expected, actual, ok)
        if not ok:
            self.fail(case, f"expected {expected}, found {actual}")
        return ok

    def check(self) -> None:
        """Apply the verdict: fail the test (no traceback) when any expectation failed."""
        self.checked = True
        self.evidence.check(self.findings)


# The Expects of each test's evidence, so a check that stops early can still report them.
_OPEN: WeakKeyDictionary[Evidence, list[Expect]] = WeakKeyDictionary()


def stopped(evidence: Evidence, exc: BaseException) -> BaseException | None:
    """``exc`` ended a check before its verdict: record the expectations it had recorded.

    Returns the exception to raise instead (one failure message: why it stopped, then the
    failed expectations), or ``None`` to let ``exc`` through: nothing was recorded, a skip
    with nothing failed, or an unforeseen error, whose traceback matters and which gets the
    expectations as a note.
    """
    pending = [expect for expect in _OPEN.get(evidence, []) if not expect.checked]
    if not pending or not isinstance(exc, Exception | pytest.fail.Exception | pytest.skip.Exception):
        return None
    for expect in pending:
        expect.checked = True
    failures = [finding for expect in pending for finding in expect.findings]
    if isinstance(exc, pytest.skip.Exception) and not failures:
        return None
    recorded = sum(expect.count for expect in pending)
    if isinstance(exc, pytest.fail.Exception | pytest.skip.Exception):
        reason = ("skipped: " if isinstance(exc, pytest.skip.Exception) else "") + str(exc.msg)
    elif isinstance(exc, SignoffError):
        reason = str(exc)
    else:
        reason = f"{type(exc).__name__}: {exc}"
    last = pending[-1]
    last.row("check stopped", "", "the check runs to its verdict", redact(reason), False)
    stop = Finding(last.check_id, "check stopped", "error", f"the check stopped before its verdict: {reason}")
    evidence.findings.extend([*failures, stop])
    if failures:
        listed = "\n".join(f"  - {finding.message}" for finding in failures)
        before = f"before it stopped, {recorded} expectation(s) were recorded; {len(failures)} failed:\n{listed}"
    else:
        before = f"before it stopped, {recorded} expectation(s) were recorded, all met (see the PU-API table)"
    message = redact(f"{stop.message}\n{before}")
    if not failures and says_not_checked(reason):  # it could not look, and found nothing wrong before that
        message = redact(f"{reason}\n{before}")
    if isinstance(exc, SignoffError | pytest.fail.Exception | pytest.skip.Exception):
        return pytest.fail.Exception(message, pytrace=False)
    exc.add_note(message)  # a bug or an unforeseen answer: keep its traceback
    return None


def same(found: Any, wanted: Any) -> bool:
    """``found`` is ``wanted``, where a numeric string is the number it spells ("3" is 3; "0.9500" is 0.95)."""
    from signoff.pou.dialect import as_number

    if found == wanted:
        return True
    number = as_number(found)
    return isinstance(wanted, int | float) and not isinstance(wanted, bool) and number is not None and number == wanted


def _codes(codes: Collection[int]) -> str:
    """``400 or 404``; a whole class of codes reads as ``4xx`` (the report stays legible)."""
    remaining = set(codes)
    parts = []
    for hundred in range(100, 600, 100):
        block = set(range(hundred, hundred + 100))
        if block <= remaining:
            parts.append(f"{hundred // 100}xx")
            remaining -= block
    parts.extend(str(c) for c in sorted(remaining))
    return " or ".join(parts)
