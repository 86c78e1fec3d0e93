"""Judging broker answers in the thin e2e_pou suite modules: one evidence row per request,
one finding per answer that breaks the rule (any 5xx is always a finding).

A check that stops before its verdict (the broker breaks off, a seeding request is refused)
keeps what it recorded: :func:`stopped`, called by the suite's ``pytest_runtest_call``
wrapper, adds the failed expectations and the reason it stopped to the evidence and to the
one failure message.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import pytest

from signoff.errors import SignoffError
from signoff.evidence.collector import Evidence
from signoff.findings import Finding, says_not_checked
from signoff.pou.dialect import StatusRule
from signoff.redaction import redact

if TYPE_CHECKING:  # the client imports httpx; collection of the artifact-only preflight must not
    from signoff.pou.client import Answer


# What to do when a check fails: the broker's side of the runbook criterion it checks. Said once, after
# the check's last failed expectation (the report's "Next step" column).
NEXT_STEPS: Mapping[str, str] = {
    "PU-API": "make the broker answer each request above as the deployment checklist says (health, settle "
    "creating a pending receipt with its committee, receipt and committee reads that agree)",
    "PU-ATT": "make the broker refuse, before it stores anything, an attestation without a DID, from a DID the "
    "receipt does not allow, a duplicate, a malformed or badly signed one, and any on a finalized receipt",
    "PU-QRM": "make finalize count distinct committee members' AUDIT_PASS against k, the same way on the manual "
    "path and in the finalizer job",
    "PU-FIN": "make the finalizer job finalize a receipt at quorum within its interval, counting the quorum "
    "exactly as the manual path does; if its interval is not [pou] finalizer_interval_seconds, set that key to it",
    "PU-REP": "make the broker update the agent's reputation as [pou.model] says (when, and the EWMA with "
    "ewma_alpha); if it does so by design at another point, set [pou.model] reputation_moves_at",
    "PU-WS": "make the broker notify both parties, client and agent, of a settlement over its WebSocket; if it "
    "notifies through a slower path by design, raise [pou] notify_timeout_seconds",
    "PU-LOG": "fix what the broker logged as an error, or schedule the missing job; a line that is not an error "
    "by design goes in [pou.logs] ignore",
}


class Expect:
    """Collects rows and findings for one check; ``check()`` gives the verdict."""

    def __init__(self, evidence: Evidence, check: str, next_step: str = "") -> None:
        self.evidence = evidence
        self.check_id = check
        self.step = next_step or NEXT_STEPS.get(check, "")  # a test that checks one part of its check says its own
        self.findings: list[Finding] = []
        self.count = 0
        self.checked = False
        self.other_codes: dict[str, set[int]] = {}  # [pou.dialect.status] key -> refused codes of the same class
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
        elif (
            isinstance(status, StatusRule)
            and status.case
            and answer.status not in allowed
            and _same_class(answer.status, allowed)
        ):
            self.other_codes.setdefault(status.case, set()).add(answer.status)
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
        """Apply the verdict: fail the test (no traceback) when any expectation failed; the last failure
        says the next step."""
        self.checked = True
        self.evidence.check(with_next_step(self.findings, self.next_step()))

    def next_step(self) -> str:
        """The check's next step; where the broker refused or accepted with another code of the same class
        than the rule's, the key that says it does so by design."""
        steps = [self.step] if self.step else []
        for case, codes in sorted(self.other_codes.items()):
            value = str(min(codes)) if len(codes) == 1 else f"{min(codes) // 100}xx"
            shown = " or ".join(str(code) for code in sorted(codes))
            steps.append(
                f'if {shown} is how your broker answers {case} by design, set [pou.dialect.status] {case} = "{value}"'
            )
        return "; ".join(steps)


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


def with_next_step(findings: list[Finding], step: str) -> list[Finding]:
    """``findings`` with ``Next step: {step}`` after the last error's message (unless it says one already)."""
    errors = [index for index, finding in enumerate(findings) if finding.is_error]
    if not step or not errors or "Next step" in findings[errors[-1]].message:
        return findings
    last = findings[errors[-1]]
    return [
        *findings[: errors[-1]],
        replace(last, message=f"{last.message}. Next step: {step}"),
        *findings[errors[-1] + 1 :],
    ]


def _same_class(code: int, allowed: Collection[int]) -> bool:
    """``code`` is of the class of every code ``allowed`` (2xx, 4xx): a refusal for a refusal, a success for one."""
    return bool(allowed) and all(code // 100 == other // 100 for other in allowed)


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
